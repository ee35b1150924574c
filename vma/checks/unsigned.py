"""Unsigned: the note is not signed, or not authenticated.

What it finds
    A chart whose ``signature`` is null, whose signature names no signer
    (``signed_by`` empty) or carries no signing time (``signed_at`` missing), or
    whose document the source system marks as not authenticated: an extra
    chart field ``authenticated: false``, or an HL7 TXA-17 document completion
    status (``completion_status``) other than AU (authenticated) or LA (legally
    authenticated), such as DO (documented), IP (in progress) or PA
    (pre-authenticated).

Why it matters
    Services documented in an unsigned or unauthenticated note are not
    supported: Medicare requires the treating provider's signature on every
    service billed, and coders must not code from a draft that may still
    change.

Example
    An HL7 MDM message with TXA-17 = ``DO`` and no authenticator: the note is
    a draft; the provider is asked to authenticate it before coding.

Resolution (query)
    A ``query`` to the provider asking them to review and authenticate the note,
    with the answers "Authenticated now", "Not my note", "Other" and "Clinically
    undetermined". Nothing the record holds can replace the signature, so
    there is never a ``correct``.
"""

from __future__ import annotations

from vma.checks import CheckContext, register
from vma.findings import Choice, Finding, query_choices

CHECK = "unsigned"
AUTHENTICATED_STATUSES = frozenset({"AU", "LA"})  # HL7 table 0271
_STATUS_NAMES = {
    "DI": "dictated", "DO": "documented", "IP": "in progress", "IN": "incomplete", "PA": "pre-authenticated",
    "AU": "authenticated", "LA": "legally authenticated",
}


def _extra(model, name: str):
    return (model.model_extra or {}).get(name) if model is not None else None


def _is_false(value) -> bool:
    if isinstance(value, bool):
        return value is False
    if isinstance(value, str):
        return value.strip().lower() in ("false", "no", "n", "0")
    return False


def unsigned_reasons(ctx: CheckContext) -> list[str]:
    """Why the note does not count as signed; empty when it does."""
    chart = ctx.chart
    sig = chart.signature
    reasons: list[str] = []
    if sig is None:
        reasons.append("the note has no signature")
    else:
        if not (sig.signed_by or "").strip():
            reasons.append("the signature names no signer")
        if not (sig.signed_at or "").strip():
            reasons.append("the signature has no signing time")
    for holder in (chart, sig, chart.note):
        if _is_false(_extra(holder, "authenticated")):
            reasons.append("the source system marks the document as not authenticated")
            break
    for holder in (chart, sig, chart.note):
        status = _extra(holder, "completion_status")
        if isinstance(status, str) and status.strip():
            code = status.strip().upper()
            if code not in AUTHENTICATED_STATUSES:
                name = _STATUS_NAMES.get(code)
                reasons.append(f"the document completion status is {code}" + (f" ({name})" if name else "")
                               + ", not authenticated")
            break
    return reasons


@register(
    "unsigned",
    actions=("query",),
    references=(
        "CMS Medicare Program Integrity Manual (Pub. 100-08), chapter 3, section 3.3.2.4 (signature "
        "requirements: services must be authenticated by the author)",
        "HL7 v2.5.1 chapter 9, table 0271 (document completion status: AU authenticated, LA legally "
        "authenticated)",
        "ICD-10-CM Official Guidelines for Coding and Reporting FY2026, section III and IV (code from the "
        "provider's documentation)",
    ),
)
def check(ctx: CheckContext) -> list[Finding]:
    reasons = unsigned_reasons(ctx)
    if not reasons:
        return []
    chart = ctx.chart
    dos = chart.encounter.date_of_service or "the date of service"
    doc = chart.document_id or chart.chart_id
    evidence = "signature = null" if chart.signature is None else (
        f"signature = {chart.signature.model_dump(exclude_none=False)}")
    return [Finding(
        check=CHECK, action="query", severity="error", code=None,
        message=f"Note {doc} is not ready for coding: {'; '.join(reasons)}.",
        evidence=evidence,
        question=(f"The note for this encounter on {dos} ({doc}) is not authenticated: {'; '.join(reasons)}. "
                  "If this is your note and it is complete, is it now authenticated in the record?"),
        choices=query_choices([
            Choice(label="Authenticated now", kind="confirm", value="authenticated"),
            Choice(label="Not my note", kind="value", value="not-author"),
        ]),
        target="chart")]
