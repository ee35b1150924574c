"""Invalid NPI: the provider's National Provider Identifier fails its format or check digit.

What it finds
    A provider NPI that is present but is not ten digits, does not start with 1
    or 2, or whose tenth digit is not the Luhn check digit computed over the
    prefix 80840 followed by the first nine digits. A missing NPI is left to
    ``missing-element``.

Why it matters
    Claims with an invalid rendering or attending NPI are rejected at the front
    end by every payer; a mistyped NPI also routes the chart to the wrong
    physician.

Example
    ``1234567890``: the check digit for 123456789 is 3, so the NPI fails;
    ``1234567893`` passes. ``12345`` fails the format.

Resolution (correct)
    The number is clerical data that the billing or credentialing office fixes
    from the provider directory or the NPPES registry; the physician is not
    queried about it. The message gives the reason and, for a check-digit
    failure, the digit the first nine digits call for (a hint at a typo, not a
    correction to apply blindly).
"""

from __future__ import annotations

import re

from vma.checks import CheckContext, register
from vma.compiled_patterns import compile_pattern
from vma.findings import Finding

CHECK = "invalid-npi"
NPI_PREFIX = "80840"  # ISO 7812 health-industry issuer prefix the NPI check digit is computed with
_TEN_DIGITS = compile_pattern(r"^[12][0-9]{9}$")


def luhn_check_digit(payload: str) -> int:
    """The Luhn digit to append to ``payload`` (digits only)."""
    total = 0
    # Rightmost payload digit is doubled, since the check digit takes the rightmost place.
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def npi_problem(npi: str) -> str | None:
    """Why the NPI is invalid, or None when it passes format and check digit."""
    value = npi.strip()
    if not re.fullmatch(r"[0-9]+", value):
        return "contains characters other than digits"
    if len(value) != 10:
        return f"has {len(value)} digits instead of 10"
    if not _TEN_DIGITS.match(value):
        return "does not start with 1 or 2"
    expected = luhn_check_digit(NPI_PREFIX + value[:9])
    if int(value[9]) != expected:
        return f"fails the check digit (the Luhn digit for {value[:9]} with prefix {NPI_PREFIX} is {expected})"
    return None


def is_valid_npi(npi: str | None) -> bool:
    return bool(npi) and npi_problem(npi) is None


@register(
    "invalid-npi",
    actions=("correct",),
    references=(
        'CMS, "Requirements for National Provider Identifier (NPI) and NPI Enumeration" and 45 CFR 162.406 (the '
        "NPI is ten digits with a check digit)",
        "the check digit is the ISO/IEC 7812 Luhn formula over the card-issuer prefix 80840 plus the nine-digit "
        "identifier (equivalently, add 24 to the Luhn sum of the nine digits)",
    ),
)
def check(ctx: CheckContext) -> list[Finding]:
    npi = ctx.chart.provider.npi
    if not npi or not npi.strip():
        return []
    problem = npi_problem(npi)
    if problem is None:
        return []
    who = ctx.chart.provider.name or "the provider"
    return [Finding(
        check=CHECK, action="correct", severity="error", code=None,
        message=(f"Provider NPI {npi!r} for {who} {problem}; take the NPI from the provider directory "
                 "or the NPPES registry."),
        evidence=f"provider.npi = {npi!r}", target="element:provider.npi")]
