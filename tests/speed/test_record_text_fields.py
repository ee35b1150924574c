"""A record reads a plain text field's ASCII strings inline: what it keeps, and the problems it reports, are
what the text kind's own reading gives, for random, padded, non-ASCII, surrogate and non-string values."""

from __future__ import annotations

import random

import pytest

from vma.records import _MISSING, Field, Record, RecordError, Text


class _Loose(Record):
    plain = Field(Text(), optional=True)
    longer = Field(Text(min_length=2), optional=True)


class _Stripped(_Loose):
    strip_text = True


def _values(seed: int) -> list:
    rng = random.Random(seed)
    chars = "ab Z09 \t\n\x0b\x0c\r\x85\xa0\u2003\u3000é\ud800-_"
    out = ["".join(rng.choice(chars) for _ in range(rng.randint(0, 10))) for _ in range(200)]
    return out + ["", " ", "x", " x ", "\ud800", "caf\u00e9", 3, 2.5, None, True, [], {}, b"bytes"]


def _by_the_kind(kind: Text, value, strip: bool):
    errors: list = []
    got = kind.read(value, ("f",), errors, strip)
    return got, [message for _, message in errors]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("record", [_Loose, _Stripped])
def test_a_text_field_reads_as_its_kind_reads(seed, record):
    for value in _values(seed):
        for name, kind in (("plain", Text()), ("longer", Text(min_length=2))):
            expected, problems = (None, []) if value is None else _by_the_kind(kind, value, record.strip_text)
            try:
                got = getattr(record.model_validate({name: value}), name)
                assert expected is not _MISSING and got == expected and type(got) is type(expected), repr(value)
            except RecordError as exc:
                assert expected is _MISSING and [m for _, m in exc.problems] == problems, repr(value)
