"""Levels of the spine as a note writes them ("L4-5", "C5-C6") and the tabular's words for their region."""

from __future__ import annotations

import re

# A vertebra or a disc level: "L4", "L4-5", "C5-C6", "T12-L1", "L5-S1". Not an MRI sequence ("T2-weighted",
# "T1 signal") nor a thyroid hormone ("free T4").
SPINE_SPAN = (r"(?<!free )\b([CTL])([1-9]|1[0-2])(?:\s*(?:-|\u2013|to|through)\s*([CTLS])?([1-9]|1[0-2]))?\b"
              r"(?!\s*-?\s*(?:weighted|signal|hyper|hypo|images?|sequences?|post))")
_SPINE_COUNT = {"C": 7, "T": 12, "L": 5, "S": 5}
_SPINE_FIRST = {"C": 0, "T": 7, "L": 19, "S": 24}


def _vertebra(letter: str, number: str) -> int | None:
    n = int(number)
    return _SPINE_FIRST[letter] + n if 1 <= n <= _SPINE_COUNT[letter] else None


def _spine_region(upper: int, lower: int) -> str | None:
    """The tabular's region for the disc between two vertebrae (1 = C1 ... 25 = S1): the regions of M47-M54
    ("cervicothoracic" is C7-T1, "thoracolumbar" T12-L1, "lumbosacral" L5-S1)."""
    for top, bottom, region in ((1, 7, "cervical"), (7, 8, "cervicothoracic"), (8, 19, "thoracic"),
                                (19, 20, "thoracolumbar"), (20, 24, "lumbar"), (24, 25, "lumbosacral"),
                                (25, 29, "sacral")):
        if top <= upper and lower <= bottom:
            return region
    return None


def spinal_region_words(m: re.Match[str]) -> tuple[str, ...]:
    """Words of the tabular for a level of the spine. One region per level; a span over several regions names
    each ("L3-S1": lumbar and lumbosacral). The cervical discs carry the tabular's own sub-regions (M50: "high
    cervical" C2-C3, C3-C4; "mid-cervical" C4-C5 to C6-C7) and the level of the M50.x2- codes ("C5-C6")."""
    letter, upper_number, lower_letter, lower_number = m.groups()
    upper = _vertebra(letter, upper_number)
    if upper is None:
        return ()
    if lower_number is None:
        return ({"C": "cervical", "T": "thoracic", "L": "lumbar"}[letter], "region")
    lower = _vertebra(lower_letter or letter, lower_number)
    if lower is None or lower <= upper:
        return ()
    regions = list(dict.fromkeys(r for k in range(upper, lower) if (r := _spine_region(k, k + 1))))
    words: list[str] = []
    for region in regions:
        words.append(region)
    if regions == ["cervical"]:
        if 2 <= upper and lower <= 4:
            words.insert(0, "high")
        elif 4 <= upper and lower <= 7:
            words.insert(0, "mid")
            if lower == upper + 1:
                words += [f"c{upper}", f"c{lower}", "level"]
    return (*words, "region")
