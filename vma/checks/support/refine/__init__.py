"""Refinement: the most specific code the note documents for a coded condition, in one step.

A senior coder reading "primary osteoarthritis of the left knee" next to M17.9
(Osteoarthritis of knee, unspecified) goes straight to M17.12 (Unilateral primary
osteoarthritis, left knee); next to "acute on chronic systolic heart failure" and I50.9
she goes to I50.23. She does not fix one axis and leave the next for another round.
This module finds that code from the tabular alone:

1. **Candidates.** Every code of the category that says at least what the proposed
   code says, and more: its words (parenthesised nonessential modifiers dropped,
   plurals folded) hold the proposed code's words, except "unspecified", and a side
   or acuity the proposed code states (so a wrong side can be replaced). For a
   non-billable header, every billable code beneath it.
2. **What each candidate adds**, sorted into the axes of Guideline I.B: a side
   ("right", "left", "bilateral", only where the category pairs right and left
   codes of the same wording), an acuity ("acute", "chronic", both = acute on
   chronic), and other terms (type, stage, cause, complication: "systolic",
   "primary", "stage 3", "with exacerbation", "without aura").
3. **What the note documents for this condition**: the side given for its body
   site (vma.checks.support.axes.evidence.side_evidence), the acuity stated with it, "exacerbation" and
   "decompensated" read as acute (AHA Coding Clinic 3Q 2008;
   acute on chronic when the note documents the condition as chronic), and each
   term stated in a sentence naming the condition, not negated and (outpatient)
   not uncertain, or one of the candidate's inclusion terms stated there.
4. **Decision.** The candidate every one of whose added values the note documents
   and that no other documented candidate outdoes is the correction, whatever
   axes it settles at once. When the note documents part of what more specific
   codes need (an acuity, a severity word, a type) but none in full, only the
   physician can finish it: a query listing the candidates that fit what is
   documented. A short table of clinical indicators
   (``vma/reference/data/cdi_indicators.json``) adds the classic CDI queries for
   conditions coded unspecified while the record shows their indicators
   (heart failure with an ejection fraction or a diuretic change, asthma on a
   daily controller, CKD with an eGFR).

"Other ..." codes and codes that add "unspecified" are never chosen from wording.

Sources: ICD-10-CM Official Guidelines for Coding and Reporting FY2026, I.A.7
(nonessential modifiers), I.B.2 (code to the highest specificity
documented), I.A.19 (the provider's statement), I.B.8 (acute and chronic), I.B.13 (laterality; right and left codes
when no bilateral code exists), IV.H (uncertain diagnoses, outpatient); the
ICD-10-CM Alphabetic Index default for osteoarthritis of a joint (primary,
M15-M19 "Osteoarthritis ... knee M17.1-"); AHIMA/ACDIS Guidelines for
Achieving a Compliant Query Practice (2022 update).
"""
