"""Axes of ICD-10-CM codes: what a code leaves open, which siblings settle it,
and what the note says about it.

The tabular lists the codes of one parent side by side, and their descriptions
differ on one axis at a time: "Pain in right shoulder" / "Pain in left
shoulder" / "Pain in unspecified shoulder" differ by side; "Acute cholecystitis"
/ "Chronic cholecystitis" / "Cholecystitis, unspecified" by acuity; "Chronic
kidney disease, stage 4" / "..., unspecified" by stage. This module compares
descriptions word by word (parenthesised nonessential modifiers dropped, as the
tabular convention says they do not change the code) instead of keeping hand
lists of codes, so it works for the whole release. Seventh-character codes are
compared on their base code (S93.402A -> S93.402) and keep their 7th character.

Three axes:

- ``laterality``: siblings add only "right", "left" or "bilateral".
- ``acuity``: siblings add only "acute", "chronic" (both: acute on chronic),
  also across categories of one chapter whose descriptions are otherwise the
  same ("Bronchitis, not specified as acute or chronic" J40 -> "Acute
  bronchitis, unspecified" J20.9 / "Unspecified chronic bronchitis" J42).
- ``specificity``: the code says "unspecified" and a sibling adds a term on
  another axis (type, stage, cause, complication), removing nothing else.

The second half reads the note: where the coded condition is mentioned (the
condition words of the description, weighted by how rare each word is in the
tabular, or an inclusion term), whether that mention is negated or uncertain,
and which side, acuity or distinguishing term stands near it.

Sources: ICD-10-CM Official Guidelines for Coding and Reporting FY2026,
I.A.7 (parentheses enclose nonessential modifiers), I.B.13 (laterality),
I.C.19.a and I.C.19.c.1 (7th characters, fractures not stated open or closed
are coded closed), IV.H (uncertain diagnoses in outpatient settings).
"""
