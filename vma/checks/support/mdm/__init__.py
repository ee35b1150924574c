"""Medical decision making (MDM) estimated from a signed note.

The AMA CPT E/M guidelines (2021+) grade MDM on three elements and take the
level that two of the three reach:

- problems addressed: one self-limited/minor problem is straightforward; one
  stable chronic illness or one acute uncomplicated illness/injury is low; a
  chronic illness with exacerbation/progression/side effects, two or more
  stable chronic illnesses, an undiagnosed new problem with uncertain
  prognosis, an acute illness with systemic symptoms or an acute complicated
  injury is moderate; a severe exacerbation or a threat to life or bodily
  function is high;
- data reviewed and analysed: category 1 counts unique tests ordered or
  reviewed, unique external notes reviewed and (from moderate up) an
  independent historian; category 2 is an independent interpretation of a
  test; category 3 a discussion of management with an external physician.
  Low needs 2 category-1 items or an independent historian; moderate one of
  (3 category-1 items, interpretation, discussion); high two of them;
- risk of patient management: over-the-counter drugs, therapy referrals and
  braces are low; prescription drug management, a decision about minor surgery
  with risk factors or elective major surgery, or care limited by social
  determinants of health is moderate; drug therapy requiring intensive
  monitoring for toxicity, hospitalisation, emergency major surgery or a
  decision not to resuscitate is high.

The table's definitions decide how wording is read. "Stable" is defined by the
patient's treatment goals: a chronic illness that is not at its goal is not
stable, so a chronic problem whose treatment is started, added to or increased at
the visit (a new diagnosis put on treatment, a dose raised for it) reads as a
chronic illness with exacerbation or progression. Ordering a test includes
reviewing its result; each unique test (by its CPT code) counts once. Drugs
given in the office by injection or infusion are prescription drugs managed at
the visit.

A note never states these elements as such, so this module reads them from
the wording. The estimate is deliberately GENEROUS (an upper bound): when the
wording allows two readings, it takes the higher one, so that a check built on
it only flags levels that clearly exceed what the note documents.

References: AMA CPT E/M Services Guidelines (2021, revised 2023/2024), table
"Levels of Medical Decision Making" and its definitions ("stable, chronic
illness", "chronic illness with exacerbation, progression, or side effects of
treatment", "acute illness with systemic symptoms", "unique test", "independent
interpretation", "discussion of management or test interpretation", "external
physician", "drug therapy" / "prescription drug management"); CMS MLN006764
"Evaluation and Management Services Guide".
"""
