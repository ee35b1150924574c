"""Lint for the text of provider queries.

A query must not lead the provider toward an answer or toward money (AHIMA/ACDIS
"Guidelines for Achieving a Compliant Query Practice"): it states the clinical
indicators, asks an open or multiple-choice question, and always offers an
escape ("Other", "Clinically undetermined"). Yes/no questions are allowed only
where the answer is a documented fact rather than a diagnosis: present on
admission and the signature.

Domain code: no Slack import. The adapter lints every query before it renders it,
and the tests run the lint over every template and every query the checks produce.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from vma.findings import OTHER, UNDETERMINED

# Phrases that tell the provider what to write, or that presume the answer.
LEADING_PHRASES = (
    "should be",
    "should have been",
    "please document",
    "please add",
    "please change",
    "consider documenting",
    "consider adding",
    "was it not",
    "isn't it",
    "is it not",
    "wouldn't you agree",
    "don't you agree",
    "would you agree",
    "needs to be documented",
    "must be documented",
    "you must document",
    "failure to document",
    "in order to support",
    "to support a higher",
    "upgrade",
    "more accurate code would be",
)

# Anything that ties the clinical answer to payment.
MONEY_WORDS = (
    r"\$",
    r"\bdollars?\b",
    r"\breimburse(?:ment|d|s)?\b",
    r"\bpayments?\b",
    r"\bpaid\b",
    r"\bpay(?:s|er)?\b",
    r"\brevenue\b",
    r"\bms-drg\b",
    r"\bdrgs?\b",
    r"\brvus?\b",
    r"\bcase mix\b",
    r"\bcmi\b",
    r"\bhccs?\b",
    r"\braf score\b",
    r"\brisk adjust\w*\b",
    r"\bcc/mcc\b",
    r"\bmccs?\b",
    r"\bmoney\b",
    r"\bfinancial\w*\b",
    r"\bprofit\w*\b",
    r"\bhigher[- ]paying\b",
    r"\bbill(?:s|ed|ing)? (?:more|higher)\b",
)
_MONEY = re.compile("|".join(MONEY_WORDS), re.I)
_LEADING = re.compile("|".join(r"\b" + re.escape(p) + r"\b" for p in LEADING_PHRASES), re.I)

YES_NO_CHECKS = frozenset({"poa", "unsigned"})
_YES_NO = re.compile(r"^\s*(yes|no|y|n)\b", re.I)


def _is_other(folded: str) -> bool:
    return folded == OTHER.casefold() or folded.startswith(OTHER.casefold() + " (")


def _is_undetermined(folded: str) -> bool:
    # "Clinically undetermined (POA W)": the escape answer may name what it records.
    return folded == UNDETERMINED.casefold() or folded.startswith(UNDETERMINED.casefold() + " (")


def lint_text(text: str) -> list[str]:
    """Problems in any text shown to a provider: leading phrases and money words."""
    problems: list[str] = []
    for match in _LEADING.finditer(text or ""):
        problems.append(f"leading phrase {match.group(0)!r}")
    for match in _MONEY.finditer(text or ""):
        problems.append(f"money or payment word {match.group(0)!r}")
    return problems


def lint_query(question: str | None, options: Iterable[str], check: str | None) -> list[str]:
    """Every reason the query would not be compliant; an empty list means it may be sent."""
    labels = [str(label) for label in options]
    problems: list[str] = []
    if not question or not question.strip():
        problems.append("question is empty")
    else:
        if "?" not in question:
            problems.append("question does not ask anything (no question mark)")
        problems.extend(f"question: {p}" for p in lint_text(question))
    for label in labels:
        problems.extend(f"option {label!r}: {p}" for p in lint_text(label))
    folded = [label.strip().casefold() for label in labels]
    if not any(_is_other(label) for label in folded):
        problems.append(f"options lack {OTHER!r}")
    if not any(_is_undetermined(label) for label in folded):
        problems.append(f"options lack {UNDETERMINED!r}")
    clinical = [label for label, f in zip(labels, folded) if not (_is_other(f) or _is_undetermined(f))]
    if not clinical:
        problems.append("no clinical option besides the escape answers")
    if any(not label.strip() for label in labels):
        problems.append("an option label is empty")
    if len(set(folded)) != len(folded):
        problems.append("option labels repeat")
    if check not in YES_NO_CHECKS and clinical and all(_YES_NO.match(label) for label in clinical):
        problems.append(f"yes/no options are only for {sorted(YES_NO_CHECKS)} queries, not {check!r}")
    return problems
