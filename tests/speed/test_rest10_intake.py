"""Intake's two shortcuts give what the plain computations give: the BOM taken off by hand before the C UTF-8 decoder
(the text, or the error and its place, of the "utf-8-sig" codec), and the size cap checked by encoding only a text
long enough to be over it (a character is never more bytes of UTF-8 than the bound the check assumes)."""

from __future__ import annotations

import random

import pytest

from vma import intake
from vma.chart import ChartInputError

_PIECES = [b"\xef\xbb\xbf", b"\xef\xbb", b"\xef", b"{", b"}", b"a", b" ", b"\xc3\xa9", b"\xe2\x80\x94", b"\xf0\x9f\x98\x80",
           b"\xc3", b"\x80", b"\xed\xa0\x80", b"\xff", b"\x00"]


def _utf8_sig(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 at byte {exc.start}"


def _decoded(raw) -> str:
    try:
        return intake.decode(raw)
    except ChartInputError as exc:
        return exc.errors[0].message


def _samples() -> list[bytes]:
    rng = random.Random(10)
    out = [b"", b"\xef\xbb\xbf", b"\xef\xbb\xbf\xef\xbb\xbf{}", b"\xef\xbb\xbf\xff", b"\xef\xbb{}"]
    for _ in range(3000):
        out.append(b"".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 8))))
    return out


@pytest.mark.parametrize("kind", [bytes, bytearray])
def test_decode_gives_what_the_utf8_sig_codec_gives(kind):
    for raw in _samples():
        assert _decoded(kind(raw)) == _utf8_sig(raw), raw


def test_no_character_is_more_bytes_than_the_size_check_assumes():
    rng = random.Random(4)
    characters = ["a", "\u00e9", "\u2014", "\U0001f600", "\ud800", "\udfff", "\x00", "\uffff", "\U0010ffff"]
    for _ in range(2000):
        text = "".join(rng.choice(characters) for _ in range(rng.randint(0, 12)))
        assert len(text.encode("utf-8", "surrogatepass")) <= len(text) * intake.MOST_UTF8_BYTES_PER_CHARACTER, text


def test_a_text_over_the_cap_is_refused(monkeypatch):
    monkeypatch.setattr(intake, "MAX_PARSED_INPUT", 40)
    with pytest.raises(ChartInputError, match="input too large"):
        intake.parse_chart('{"note": "' + "\U0001f600" * 9 + '"}')  # 19 characters, 47 bytes
    with pytest.raises(ChartInputError) as small:
        intake.parse_chart('{"note": "' + "\u00e9" * 9 + '"}')  # 28 bytes: read, and found not to be a chart
    assert "input too large" not in str(small.value)
