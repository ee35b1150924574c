"""POA: whether the bundled list exempts a code, kept per code, is what trying every entry of the list gives
(for the codes the entries name, their neighbours, and random and odd codes)."""

from __future__ import annotations

import random

import pytest

from vma.checks.poa import is_poa_exempt, load_exempt


def _codes(seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for entry in load_exempt():
        for code in (entry.first, entry.last, *entry.excepts):
            out += [code, code + "0", code + "XXA", code[:-1], code.replace(".", ""), code + ".9"]
        if entry.seventh:
            out.append(entry.first + "XX" + entry.seventh)
    out += ["".join(rng.choice("VWXYZOPQ0123456789.AX") for _ in range(rng.randint(0, 8))) for _ in range(400)]
    rng.shuffle(out)
    return out


@pytest.mark.parametrize("seed", range(3))
def test_kept_answer_is_every_entry_tried(seed):
    for _ in range(2):  # worked out, then kept
        for code in _codes(seed):
            assert is_poa_exempt(code) == any(e.covers(code) for e in load_exempt()), code
