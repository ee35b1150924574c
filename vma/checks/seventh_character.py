"""Seventh character: a required 7th character is missing or not allowed, or the
episode (A/D/S) contradicts the note.

What it finds
    A diagnosis code whose tabular category carries a 7th-character definition
    (injuries, burns, poisonings, fractures, pregnancy fetus identifiers, AMD and
    glaucoma stages, diabetic retinopathy eye, coma scale time, chronic gout
    tophus) proposed without its 7th character, with a character the definition
    does not allow, without the placeholder X (T21.11A for T21.11XA), or with a
    character the note contradicts: an episode D (subsequent encounter) for an
    injury evaluated and treated for the first time at this visit, or a stage
    "unspecified" (or another value) where the note documents one value. The
    allowed characters come from the release
    (``IcdRelease.seventh_character_definition``).

Why it matters
    A code missing its required 7th character is invalid and the claim is
    rejected; the episode character tells active treatment from routine
    healing care and sequelae, and the stage and eye characters carry the
    severity that payers, registries and quality programs read.

Example
    S16.1 (Strain of muscle, fascia and tendon at neck level) after a motor
    vehicle accident a week ago, first evaluation, x-rays taken, Motrin and
    Flexeril prescribed, MRI ordered: correct to S16.1XXA. H35.321 (Exudative
    age-related macular degeneration, right eye) with subretinal fluid,
    hemorrhage and leakage on angiography, monthly anti-VEGF injections
    planned: correct to H35.3211.

Resolution (correct or query)
    Episodes (injuries): ``correct`` when the note settles one allowed
    character: A for active treatment (a new injury, or its evaluation with
    immobilisation or a procedure, or with diagnostic work-up and treatment
    begun; the provider seeing the patient for the first time does not decide
    it), D for routine care after completed treatment (a follow-up visit of the
    injury, healing on examination or imaging, cast or suture removal; a plan to
    follow up later is future care, not a follow-up visit), S for a sequela.
    Fracture-specific characters are read from the definition's own wording:
    closed unless the note says open, Gustilo type I/II unless type III is
    stated, routine healing unless delayed healing, nonunion or malunion is
    stated. A coded D is changed to A when the note documents the first
    evaluation with active treatment and no completed treatment; a coded A is
    changed only on an explicit follow-up or healing statement.
    Other 7th characters: the definition's wording is read against the note's
    words for the condition and the clinical findings that state the value
    (for exudative AMD, fluid, hemorrhage, leakage or anti-VEGF treatment =
    active choroidal neovascularization); ``correct`` when one value is
    documented, or to the "unspecified" value when the definition has one and
    the note says nothing about it. ``query`` with every allowed character,
    "Other" and "Clinically undetermined" when the note hints without settling
    (or, for a definition without an unspecified value, says nothing); the
    question asks for what the character means for that code (stage, eye,
    fetus, episode of care).
"""

from __future__ import annotations

from vma.checks import CheckContext, register
from vma.checks.support.seventh_findings import seventh_character_findings
from vma.findings import Finding


@register(
    "seventh-character",
    actions=("correct", "query"),
    references=(
        "ICD-10-CM Official Guidelines for Coding and Reporting FY2026: I.B.1 and the tabular conventions for "
        "7th characters and the placeholder X, I.B.13 (unspecified side only when the record does not give it), "
        "I.C.7.a.5 (glaucoma stage: 0 unspecified when the stage is not documented, 4 indeterminate when it "
        "cannot be clinically determined), I.C.15 and the tabular notes at O31-O69 (7th character 0 for single "
        "gestations and for multiple gestations where the fetus is unspecified), I.C.19.a (7th characters A, D, "
        "S: active treatment, routine healing care, sequelae), I.C.19.c.1 (fractures: A, B, C, D-R, S; a "
        "fracture not stated open or closed is coded closed; Gustilo type I or II when the type is not given)",
        "The tabular's 7th-character definitions of H35.31, H35.32, H40, H34.81, M1A, R40.21-R40.24, E08-E13 "
        ".32-.35",
        "American Academy of Ophthalmology, ICD-10-CM coding of AMD stages (FY2023) and glaucoma staging "
        "definitions",
        "AHIMA/ACDIS Guidelines for Achieving a Compliant Query Practice (2022 update)",
    ),
)
def check(ctx: CheckContext) -> list[Finding]:
    return seventh_character_findings(ctx)
