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

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from vma.notes import LowerCasePattern as _LowerCasePattern
from vma.notes import NoteDoc, is_negated_at, is_uncertain, lazy_pattern

STRAIGHTFORWARD, LOW, MODERATE, HIGH = 1, 2, 3, 4
LEVEL_NAMES = {STRAIGHTFORWARD: "straightforward", LOW: "low", MODERATE: "moderate", HIGH: "high"}

# Problem kinds, in the wording of the MDM table.
MINOR = "self-limited or minor problem"
ACUTE = "acute uncomplicated illness or injury"
CHRONIC = "stable chronic illness"
EXACERBATION = "chronic illness with exacerbation, progression or side effects of treatment"
UNDIAGNOSED = "undiagnosed new problem with uncertain prognosis"
SYSTEMIC = "acute illness with systemic symptoms or acute complicated injury"
SEVERE = "illness with severe exacerbation or threat to life or bodily function"
SERIOUS = "illness that may threaten bodily function (e.g. a malignancy)"

_SEVERE = lazy_pattern(
    r"\bsevere (?:exacerbation|progression)|threat(?:ening)? to (?:life|bodily function)|life[- ]threatening|"
    r"\bsepsis\b|\bseptic\b|\bn?stemi\b|acute (?:coronary|myocardial|stroke|mi\b)|\bstroke\b|pulmonary embol|"
    r"\bdka\b|ketoacidosis|suicidal|respiratory failure|anaphyla", re.I)
_EXACERBATION = lazy_pattern(
    r"\bflar(?:ing|ed)\b|\bflare(?:s|-ups?)?\b(?! (?:are|is|have been|has been|remain) (?:well[- ])?(?:controlled|"
    r"rare|infrequent))|\bworsen(?:ing|ed|s)?\b|uncontrolled|"
    r"poorly controlled|not (?:well[- ])?controlled|suboptimal(?:ly)? controlled|not at goal|above (?:his |her )?goal|"
    r"exacerbation|acute on chronic|progressi(?:on|ng)|side effects?|adverse (?:effect|reaction)|not improving|(?:has|have) not improved|"
    r"no improvement|failed to improve|\badvanced\b|\b(?:is|are|was|were|been|remains?|remained|still|persistently|"
    r"consistently) (?:[a-z]+ )?elevated\b|\belevated (?:at|to) \d|\ban elevated\b|above (?:the |his |her )?(?:target|goal)|"
    r"not (?:yet )?at (?:(?:his|her|their|the) )?(?:treatment )?(?:goal|target)|trending (?:up|higher)|out of control|"
    r"inadequate(?:ly)? controlled|\bunstable\b|deteriorat", re.I)
# "Stable" is defined by the treatment goal (AMA MDM definitions): a chronic problem whose treatment is raised
# at the visit is not at its goal. Read on the problem's own plan, for problems not read as acute or minor.
_ESCALATION = lazy_pattern(
    r"\bincreas(?:e|ed|es|ing)\b[^.;]{0,40}?(?:\bdose\b|\bdosage\b|\bto \d|\bfrom \d)|\bup-?titrat\w*|"
    r"\btitrat\w* up\b|\bescalat\w* (?:the )?(?:dose|therapy|treatment)|\bmaximi[sz]\w* (?:the )?dose|"
    r"\badd(?:ed|ing)? (?:on )?(?:another|a second|a third|an additional) (?:agent|medication|medicine|drug)", re.I)
_TREATMENT_START = lazy_pattern(
    r"\b(?:start|starting|started|initiat\w*|begin|beginning|began|prescrib\w*|proceed(?:ing)? with|"
    r"put (?:him|her|them|the patient) on|injections?|infusions?)\b", re.I)
_NEW_DIAGNOSIS = lazy_pattern(r"newly diagnosed|new diagnosis|new[- ]onset|diagnosed today|this is a new (?:issue|problem|"
                              r"diagnosis|finding)", re.I)
# Words that put off or refuse the treatment named after them ("defer initiating medication").
_DEFERRED = lazy_pattern(r"\b(?:defer\w*|hold(?:ing)? off(?: on)?|declin\w*|refus\w*|avoid\w*|decided against|"
                         r"not (?:yet )?ready to|no need to|without)\s+(?:\w+\s+){0,2}$", re.I)
_SYSTEMIC = lazy_pattern(
    r"\bfevers?\b|febrile|systemic|rigors|\bfracture|dislocation|complicated|pneumonia|pyelonephritis", re.I)
# Symptoms of the whole body (AMA: "an illness that causes systemic symptoms"), read on the problem's own text and
# what the history says about it; fracture and the like stay on the label, where "no fracture" cannot reach.
_SYSTEMIC_SYMPTOMS = lazy_pattern(
    r"\bfevers?\b|\bfebrile\b|\bchills\b|\brigors\b|body aches|\bmyalgias?\b|\bmalaise\b|night sweats|"
    r"\bdehydrat\w*|\blethargic\b|\btachycardi\w*|\bhypoxi\w*", re.I)
_SERIOUS = lazy_pattern(r"malignan|cancer|carcinoma|lymphoma|leuka?emia|melanoma|sarcoma|metasta", re.I)
_MINOR = lazy_pattern(r"self[- ]limit|\bminor\b", re.I)
_ACUTE = lazy_pattern(
    r"\bacute\b|sprain|strain\b|contusion|laceration|abrasion|pharyngitis|sinusitis|otitis|bronchitis|\buri\b|"
    r"upper respiratory infection|cystitis|\buti\b|urinary tract infection|conjunctivitis|gastroenteritis|"
    r"epicondylitis|tendinitis|tendonitis|bursitis|cellulitis|insect bite|common cold|influenza|\bviral\b", re.I)
_RECENT_ONSET = lazy_pattern(
    r"\brecent(?:ly)?\b|\b(?:\d+|one|two|three|four|five|six|a few|several|a couple of) (?:days?|weeks?)"
    r"(?: ago| of| now|, since)\b|\bfor (?:the )?(?:past|last) (?:\d+|one|two|three|four|five|six|few|several) "
    r"(?:days?|weeks?)\b|\bsince (?:yesterday|last week)\b", re.I)
_CHRONIC_COURSE = lazy_pattern(
    r"\bchronic\b|\blong[- ]?(?:standing|term)\b|\bfor (?:many |several |a few |\d+ )?(?:months|years)\b"
    r"|\bhistory of\b|\brecurr\w*|\bongoing\b|\bpersistent\b|\bcontinues? to\b|\bagain\b|\bflares?\b"
    r"|\bon (?:his|her|their) (?:current|usual)\b|\bcontinue\b", re.I)
# Conditions that last a year or more by their nature (AMA: chronic illness, "expected duration of at least a
# year"): found two weeks ago on labs, a hyperlipidemia is still a chronic illness.
_CHRONIC_NATURE = lazy_pattern(
    r"hyperlipid|dyslipid|cholesterol|triglycerid|thyroid|hypertension|\bhtn\b|diabet|\bdm\b|depress|anxiety|"
    r"bipolar|schizo|adhd|osteoarth|arthritis|\boa\b|\bckd\b|chronic kidney|copd|emphysema|asthma|heart failure|"
    r"\bchf\b|atrial fib|\bafib\b|coronary|\bcad\b|obes|osteop|gout|parkinson|dementia|alzheimer|sclerosis|"
    r"cirrhosis|hepatitis [bc]|\bhiv\b|neuropathy|glaucoma|macular|psoria|sleep apnea|\bosa\b|migraine|epilep|"
    r"seizure disorder|fibromyalgia|lupus|crohn|colitis|\bibs\b|\bgerd\b|reflux|cancer|carcinoma|lymphoma|"
    r"leuk|anemia|vitamin d deficiency|prostat|\bbph\b|incontinence", re.I)
# "found on labs two weeks ago" dates the finding, not the onset of the illness.
_FOUND_ON = lazy_pattern(r"\b(?:found|noted|seen|detected|discovered|identified|diagnosed|picked up)\b[^.;]{0,40}$", re.I)
_WORKUP = lazy_pattern(r"\b(?:order|obtain|refer|referral|evaluate|work[- ]?up|biopsy|mri|ct\b|ultrasound|imaging)", re.I)
_UNDIAGNOSED = lazy_pattern(
    r"undiagnosed|uncertain prognosis|unclear (?:etiology|cause)|unknown (?:etiology|cause)|\bto rule out\b|"
    r"\bto r/o\b|\bto exclude\b|\bto evaluate for\b|\bto assess for\b|\bto determine (?:if|whether)\b|\bconcern(?:ed)? (?:for|about|that)\b|"
    r"\bsuspicious (?:for|of)\b|\bworrisome for\b|cannot (?:be )?rule(?:d)? out|\bdifferential\b", re.I)

# Unique tests: the canonical name is what counts once (AMA: a unique test is defined by its CPT code; ordering
# a test includes reviewing its result). Imaging, physiologic tests (ECG, PFT, OCT, angiography) and laboratory
# tests and panels all count.
_TESTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((name, lazy_pattern(rx, re.I)) for name, rx in (
    ("x-ray", r"\bx-?rays?\b|\bradiographs?\b|radiographic|\bxr\b|\bfilms?\b|\bviews of the\b"),
    ("MRI", r"\bmri\b"),
    ("CT", r"\bct\b|\bcat scan|computed tomography"),
    ("ultrasound", r"ultrasound|sonogram|doppler|\bduplex\b"),
    ("echocardiogram", r"echocardiogram|\becho\b"),
    ("ECG", r"\be[kc]g\b|electrocardiogram"),
    ("angiography", r"angiogra(?:m|ms|phy)\b|\bcta\b|\bmra\b|catheteri[sz]ation"),
    ("OCT", r"\boct\b|optical coherence tomograph"),
    ("visual field", r"visual fields? (?:test|exam|stud)|\bperimetry\b|humphrey"),
    ("fundus photography", r"fundus photo"),
    ("barium study", r"barium (?:swallow|enema|study|esophagram)|esophagram|upper gi series"),
    ("nuclear imaging", r"\bpet(?:[- ]?ct| scan)\b|nuclear (?:medicine|scan|imaging)|bone scan|\bhida\b|\bv/?q scan"),
    ("heart monitor", r"holter|event monitor|zio patch|cardiac monitor"),
    ("sleep study", r"sleep study|polysomnogra"),
    ("hearing test", r"audiogra|audiometry|tympanometr"),
    ("EEG", r"\beeg\b|electroencephalogra"),
    ("ankle-brachial index", r"ankle[- ]brachial|\babi\b"),
    ("CBC", r"\bcbc\b|complete blood count|\bhemoglobin\b(?!\s*a1c)|\bhgb\b|hematocrit|platelet count|"
            r"white (?:blood )?(?:cell )?count|\bwbc\b"),
    ("metabolic panel", r"\b[bc]mp\b|metabolic panel|\bsodium\b|potassium|creatinine|electrolytes|kidney function|"
                        r"renal function|\bbun\b|\be?gfr\b"),
    ("A1c", r"\ba1c\b|hemoglobin a1c|hba1c"),
    ("glucose", r"(?:fasting|non-fasting|random|serum|plasma|point[- ]of[- ]care|fingerstick) (?:blood )?glucose|"
                r"glucose tolerance"),
    ("lipid panel", r"lipid panel|\blipids\b|cholesterol panel"),
    ("thyroid tests", r"\btsh\b|thyroid (?:function|panel|studies|tests?)|\bfree t4\b"),
    ("liver tests", r"liver (?:function|enzymes? (?:test|panel))|\blfts?\b|hepatic (?:function )?panel"),
    ("urinalysis", r"urinalysis|\bua\b|urine (?:sodium|osmolality|culture|studies|test|drug|protein)|microalbumin"),
    ("culture", r"(?<!urine )\bculture\b"),
    ("strep test", r"strep test|rapid strep"),
    ("viral test", r"(?:covid|influenza|flu|rsv)(?:-19)? (?:test|swab|pcr)|\bmono ?spot\b"),
    ("STI tests", r"gonorrh|chlamydia|trichomon|syphilis|\brpr\b|\bhiv\b|hepatitis (?:b|c) (?:test|screen|antibod)|"
                  r"hepatitis panel"),
    ("cervical cytology", r"pap (?:smear|test)|\bhpv (?:test|screen)"),
    ("pregnancy test", r"pregnancy test|\bhcg\b"),
    ("drug screen", r"drug screen|tox(?:icology)? screen"),
    ("cardiac markers", r"troponin|\bbnp\b|pro-?bnp"),
    ("coagulation tests", r"\bptt\b|coagulation (?:panel|studies)|\bcoags\b|d-?dimer"),
    ("inflammatory markers", r"\besr\b|sed rate|sedimentation rate|\bcrp\b|c-reactive"),
    ("iron studies", r"ferritin|iron (?:studies|panel)|\btibc\b|anemia (?:profile|panel)"),
    ("vitamin levels", r"vitamin d level|\b25-hydroxy|\bb12\b|folate level"),
    ("uric acid", r"uric acid"),
    ("autoimmune panel", r"autoimmune panel|\bana (?:panel|test|titer)|antinuclear|rheumatoid factor|anti-ccp"),
    ("hormone tests", r"cortisol|dexamethasone suppression|testosterone level|androgen levels?|prolactin|\bfsh\b"),
    ("allergy testing", r"allergy (?:skin )?test|skin test|\bige\b"),
    ("stool tests", r"stool (?:culture|test|studies|sample)|fecal (?:occult|immuno)|occult blood|h\.? ?pylori"),
    ("biopsy", r"\bbiopsy\b"),
    ("spirometry", r"spirometry|\bpfts?\b|pulmonary function"),
    ("PSA", r"\bpsa\b"),
    ("INR", r"\binr\b"),
    ("mammogram", r"mammogra"),
    ("endoscopy", r"endoscopy|\begd\b|colonoscopy"),
    ("stress test", r"stress test|stress echo|treadmill test"),
    ("EMG", r"\bemg\b|nerve conduction|\bncv\b|\bncs\b"),
    ("bone density", r"\bdexa\b|bone density"),
    ("psychometric test", r"\bphq-?9\b|\bgad-?7\b|\bmoca\b|\bmmse\b|mini-mental"),
    ("labs", r"\blabs?\b|blood ?work|lab work|laboratory"),
))
# Tests drawn as blood or other specimens: "labs" in the same note is one of them, not another test.
LAB_TESTS = frozenset({
    "CBC", "metabolic panel", "A1c", "glucose", "lipid panel", "thyroid tests", "liver tests", "urinalysis", "culture",
    "strep test", "viral test", "STI tests", "cervical cytology", "pregnancy test", "drug screen", "cardiac markers",
    "coagulation tests", "inflammatory markers", "iron studies", "vitamin levels", "uric acid", "autoimmune panel",
    "hormone tests", "stool tests", "PSA", "INR",
})
# "Underwent labs and EKG" at another facility: tests whose results the note goes on to report (AMA: review of the
# result(s) of each unique test counts, wherever it was done).
_ORDERED = lazy_pattern(r"\b(?:order|obtain|get|(?:re)?check|draw|send|sent|schedul|repeat|will do|we will|plan(?:ned)? for|"
                        r"perform|taken|done|pending|drawn|underw[ae]nt)", re.I)
_REVIEWED = lazy_pattern(r"\b(?:review|reveal|show|demonstrat|result|came back|were normal|was normal|unremarkable|"
                         r"read as|consistent with|notable for|within normal limits|elevated|low at|high at|abnormal)", re.I)
_EXTERNAL_NOTES = lazy_pattern(
    r"\b(?:outside|external|prior|previous|old|hospital|er|ed|emergency department) (?:records?|notes?|chart)|"
    r"records? from|notes? from (?:dr\b|his|her|the)|review(?:ed|ing)? (?:of )?(?:his|her|their|the patient's) "
    r"(?:records?|chart|notes)|discharge summary|consult(?:ation)? note|(?:records?|notes?|reports?|letter) from (?:an? )?"
    r"(?:outside|other|his|her|their|the|dr\b)|referral (?:letter|note|records?)|(?:records?|notes?) (?:were|was|are|"
    r"have been) (?:reviewed|obtained|received)|care everywhere", re.I)
_HISTORIAN = lazy_pattern(
    r"independent historian|history (?:was )?(?:obtained|provided|given|taken) (?:from|by) (?:his|her|the)|"
    r"\bper (?:his|her|the) (?:mother|father|parents?|wife|husband|spouse|daughter|son|caregiver|guardian)|"
    r"(?:mother|father|parents?|wife|husband|spouse|daughter|son|caregiver|guardian) (?:provides|provided|gives|"
    r"gave|reports|reported|states|stated) (?:the )?history", re.I)
# Independent interpretation (AMA): the physician's own reading of a test's images or tracing, not its report.
_INTERPRETATION = lazy_pattern(
    r"independent(?:ly)? (?:interpret|review|read|visuali)|my (?:own |independent )?(?:interpretation|read|reading)\b|"
    r"personally (?:reviewed|viewed|interpreted|visualized|read)|\bi (?:interpreted|read) the|"
    r"(?:interpreted|read|reviewed) by me\b|on my (?:own )?review of the|"
    r"\bi (?:have |also |then )?(?:reviewed|viewed|looked at|visualized|examined)\b[^.;]{0,40}?\b(?:images?|films?|"
    r"x-?rays?|radiographs?|mri|ct|scan|e[kc]g|tracings?|echocardiogram|ultrasound|oct|angiogra\w*)\b", re.I)
# A test's written report is not an interpretation of it.
_REPORT = lazy_pattern(r"\breports?\b|\bradiologist'?s?\b|\bread as\b", re.I)
_EXTERNAL_PROFESSIONAL = (
    r"(?:dr\b|(?:(?:his|her|their|the patient's|the on-call|the|an?|our)\s)?(?:[a-z-]+\s)?(?:[a-z]+ologist|surgeon|"
    r"physician|pcp|primary care (?:physician|provider|doctor)|specialist|pharmacist|oncology|cardiology|radiology|"
    r"nephrology|neurology|urology|gastroenterology|dermatology|pulmonology|endocrinology|rheumatology|"
    r"orthopedics|ophthalmology|psychiatry|infectious disease|hospitalist|case manager|social worker)\b)")
_DISCUSSION = lazy_pattern(
    r"\b(?:discussed|spoke|talked|conferred|consulted|reviewed)\b[^.;]{0,50}?\bwith " + _EXTERNAL_PROFESSIONAL + r"|"
    r"\b(?:called|phoned|paged|contacted|spoke to|talked to|curbside\w*|will (?:call|contact|reach out to|"
    r"speak (?:to|with)|discuss (?:this |the case |his case |her case )?with))\s" + _EXTERNAL_PROFESSIONAL, re.I)

# Risk of management.
_HIGH_RISK = lazy_pattern(
    r"\badmi(?:t|ssion|tted) (?:to|him|her|the patient)|hospitali[sz](?:e|ed|ation|ing)\b|direct admission|"
    r"(?:send|sent|transfer|refer)\w* (?:him |her |the patient )?(?:to )?(?:the )?(?:emergency|er\b|ed\b|hospital)|"
    r"intensive monitoring|monitor(?:ing)? for toxicity|emergen\w+ surgery|\bdnr\b|do not resuscitate|hospice|"
    r"comfort care|parenteral (?:opioid|controlled)|surgery\b[^.]{0,40}risk factors", re.I)
_RX_VERB = (r"(?:continu\w*|prescrib\w*|start\w*|initiat\w*|increas\w*|decreas\w*|titrat\w*|adjust\w*|refill\w*|"
            r"renew\w*|resum\w*|switch\w*|chang\w*|taper\w*|discontinu\w*|stop\w*|hold\w*|restart\w*|add\w*|"
            r"giv\w*|gave|administ\w*|proceed\w*|recommend\w*|provid\w*|us(?:e|es|ing)|tak(?:e|es|ing))")
_RX_DOSE = lazy_pattern(
    rf"\b{_RX_VERB}\b[^.;]{{0,60}}?\b([a-z][a-z-]+)\s+\d+(?:\.\d+)?\s*(?:mg|mcg|g|units?|ml|%|meq)\b", re.I)
_RX_FORM = lazy_pattern(
    rf"\b{_RX_VERB}\b[^.;]{{0,40}}?\b(?:[a-z-]+ )?(?:cream|ointment|inhaler|insulin|antibiotics?|drops|steroids?|"
    r"statin|medications?|meds|patch|injections?|eye drops|nasal spray)\b", re.I)
# Prescription drug names, for plans that name a drug without a dose or a verb ("Amoxicillin.",
# "Continue lisinopril."): USAN stems that end a drug name, and names or prefixes matched from the start.
# A generous reading counts any of them in the plan as prescription drug management.
RX_NAME_SUFFIXES = (
    "cillin", "mycin", "cycline", "floxacin", "azole", "ozole", "vir", "pril", "sartan", "olol", "dipine",
    "statin", "semide", "thiazide", "formin", "gliptin", "gliflozin", "glutide", "prazole", "sone", "solone",
    "terol", "sonide", "lukast", "oxetine", "aline", "pram", "triptyline", "azepam", "zolam", "pentin", "gabalin",
    "triptan", "codone", "xaban", "gatran", "parin", "thyroxine", "mab", "nib", "tidine", "zosin", "afil",
    "afaxine", "azodone", "apine", "peridone", "asidone", "glitazone", "tiazem", "pamil", "penem", "trigine", "fenac",
    "dronate", "etiracetam", "sartan",
)
RX_NAME_PREFIXES = (
    "cef", "ceph", "sulfamethoxazole", "trimethoprim", "nitrofurantoin", "clavulanate", "insulin", "spironolactone",
    "glipizide", "bupropion", "tiotropium", "morphine", "tramadol", "warfarin", "colchicine", "allopurinol",
    "febuxostat", "methotrexate", "meloxicam", "cyclobenzaprine", "tamsulosin", "finasteride", "estradiol",
    "medroxyprogesterone", "lithium", "quetiapine", "risperidone", "aripiprazole", "clopidogrel", "digoxin",
    "amiodarone", "nitroglycerin", "ondansetron", "tamoxifen", "antibiotic",
    # brand names a plan often gives alone ("Medical Treatment: Augmentin.")
    "augmentin", "bactrim", "keflex", "zithromax", "z-pak", "symbicort", "advair", "eliquis", "xarelto", "jardiance",
    "ozempic", "lasix", "norco", "percocet", "flexeril", "medrol", "zofran", "valtrex", "diflucan", "macrobid",
    "cipro", "levaquin", "plavix", "coumadin", "lipitor", "crestor", "synthroid", "toradol", "ultram", "mobic",
    "neurontin", "lyrica", "zoloft", "lexapro", "prozac", "wellbutrin", "xanax", "ativan", "klonopin", "ambien",
    "seroquel", "abilify", "adderall", "ritalin", "singulair", "spiriva", "trelegy", "breo", "entresto", "farxiga",
    "trulicity", "mounjaro", "humira", "victoza", "lantus", "humalog", "novolog", "januvia", "glucophage",
)
# Ordinary words that happen to end like a drug stem.
_NOT_DRUGS = {"cholesterol", "alkaline", "saline", "baseline"}
_RX_NAME = lazy_pattern(r"\b(?:[a-z-]{2,}(?:" + "|".join(RX_NAME_SUFFIXES) + r")|(?:"
                        + "|".join(RX_NAME_PREFIXES) + r")[a-z]*)\b", re.I)
# A brand name after a verb of drug management ("Continue Keppra at the current dose", "Initiate Jardiance"):
# mid-sentence capitals after such a verb name a product far more often than anything else in a plan. Read on the
# original text (case matters); words of the plan that are capitalised for other reasons are set aside.
_RX_BRAND = lazy_pattern(
    r"\b" + _RX_VERB + r"\s+(?:(?:his|her|their|the|a|an|with|on|taking|using|to use|to take)\s+)*"
    r"([a-z][a-z]{3,}(?:-[a-z]+)?)\b", re.I)
_NOT_BRANDS = {
    "current", "present", "same", "physical", "occupational", "home", "diet", "dietary", "therapy", "exercise",
    "exercises", "monitoring", "daily", "regular", "routine", "follow", "care", "medical", "treatment",
    "conservative", "weight", "wound", "rest", "activity", "activities", "walking", "blood", "glucose", "checking",
    "logging", "formal", "cardiac", "rehab", "counseling", "education", "regimen", "plan", "continue", "with",
    "this", "that", "these", "those", "them", "further", "close", "supportive", "observation", "symptomatic",
    "hand", "clinic", "patient", "their", "over", "ice", "heat", "compression", "elevation", "bracing", "head",
    "hospital", "emergency", "urgent", "primary", "orthopedic", "orthopedics", "surgery", "nursing", "skilled",
    "weekly", "monthly", "nightly", "twice", "once", "then", "both", "your", "after", "before", "until", "when",
}
# Drugs given in the office or planned as injections or infusions (a prescription drug given at the visit is
# prescription drug management); vaccines and skin tests are set aside (separately reported, not drug therapy).
_OFFICE_DRUG = lazy_pattern(
    r"\b(?:injections?|infusions?|intravitreal|intramuscular(?:ly)?|intra-?articular|subcutaneous(?:ly)?|im|"
    r"nebuli[sz]er treatments?|iv (?:antibiotics|steroids|medications?|diuretics?))\b", re.I)
_VACCINE = lazy_pattern(r"vaccin|immuni[sz]|flu shot|\btdap\b|tetanus|pneumovax|pneumococcal|shingrix|zoster|gardasil|"
                        r"prevnar|\bppd\b|tuberculin", re.I)
# A prescription drug discussed and set aside after shared decision making still counts as its management (AMA
# 2021 E/M guidelines, risk: "options considered but not selected, after shared decision making").
_RX_CONSIDERED = lazy_pattern(
    r"\b(?:discuss\w*|consider\w*|offer\w*|counsel\w*|review\w*)\b[^.;]{0,30}?\b(?:statins?|antibiotics?|insulin|"
    r"antidepressants?|ssris?|snris?|anticoagula\w*|blood thinners?|steroids?|bisphosphonates?|opioids?|"
    r"antihypertensives?|levothyroxine|metformin|[a-z]{3,}(?:statin|pril|sartan|olol|dipine))\b[^.;]{0,20}?"
    r"\b(?:versus|vs\.?|or|and (?:she|he|they|the patient) (?:chose|chooses|prefers?|elects?|declines?|declined))\b",
    re.I)
_RX_WORDS = lazy_pattern(r"\bprescri(?:be|bed|ption)s?\b|\be-?prescribed\b|\brx\b|\bscript\b|\brefills?\b", re.I)
_MINOR_SURGERY = lazy_pattern(
    r"\b(?:injection|aspiration|excision|incision and drainage|i&d|cryotherapy|biopsy|debridement|"
    r"laceration repair|destruction|removal)\b", re.I)
_MAJOR_SURGERY = lazy_pattern(r"\bsurg(?:ery|ical)\b|arthroplasty|replacement|\b\w+ectomy\b|arthroscop", re.I)
_DECISION = lazy_pattern(r"\b(?:recommend|perform|schedul|consider|plan|discuss|option|candidate|proceed|refer|consult)",
                         re.I)
_SDOH = lazy_pattern(r"unable to afford|cannot afford|can't afford|(?:cost|insurance|transportation|housing|food "
                     r"insecurity)\b[^.]{0,40}\b(?:limit|barrier|unable|prevent)", re.I)
OTC_DRUGS = (
    "acetaminophen", "tylenol", "ibuprofen", "advil", "motrin", "naproxen", "aleve", "aspirin", "nsaid", "nsaids",
    "loratadine", "claritin", "cetirizine", "zyrtec", "fexofenadine", "allegra", "diphenhydramine", "benadryl",
    "guaifenesin", "mucinex", "dextromethorphan", "pseudoephedrine", "phenylephrine", "saline", "docusate",
    "colace", "senna", "miralax", "polyethylene glycol", "calcium carbonate", "tums", "antacid", "antacids",
    "loperamide", "imodium", "melatonin", "vitamin", "multivitamin", "fish oil", "hydrocortisone", "sunscreen",
    "moisturizer", "emollient", "artificial tears", "over-the-counter", "over the counter", "otc",
    # store brands sold without a prescription
    "selsun", "nizoral", "head and shoulders", "zarbee's", "zarbees", "coricidin", "epsom", "icyhot", "biofreeze",
    "vaseline", "aquaphor", "cerave", "eucerin", "neosporin", "bacitracin", "nasacort", "afrin", "sudafed",
    "dayquil", "nyquil", "robitussin", "delsym", "dulcolax", "metamucil", "benefiber", "pedialyte", "excedrin",
)
_OTC = lazy_pattern(r"\b(?:" + "|".join(re.escape(d) for d in OTC_DRUGS) + r")\b", re.I)
_LOW_RISK = lazy_pattern(
    r"physical therapy|occupational therapy|\bpt\b|home exercise|splint|sling|brace|crutches|aircast|\bboot\b|"
    r"\bice\b|\brice\b|heat|iv fluids|normal saline|referral|refer", re.I)

# Words of an item label that say nothing about which condition it is.
_LABEL_STOPWORDS = {
    "acute", "chronic", "history", "of", "the", "and", "with", "without", "right", "left", "bilateral",
    "primary", "secondary", "unspecified", "pain", "follow", "up", "status", "post", "type", "mild", "moderate",
    "severe", "likely", "possible", "probable", "rule", "out", "in", "on", "to", "a", "an", "for",
}
_ITEM_NUMBERED = lazy_pattern(r"^\s*(?:#\s*)?\d{1,2}\s*[.)]\s*(.+)$")
_ITEM_PROBLEM = lazy_pattern(r"^\s*problem\s*#?\s*\d*\s*[:.]\s*(.+)$", re.I)
_BULLET = lazy_pattern(r"^\s*(?:[•\-*–·]|o\s)\s*")
_TIME_LINE = lazy_pattern(r"\b(?:spent|total time|time (?:on|spent))\b[^.]*\bmin", re.I)
# Lines that report an action rather than name a problem ("ECG obtained ...", "Vaccine given ...").
_ACTION_LINE = lazy_pattern(r"\b(?:obtained|given|performed|removed|administered|ordered|reviewed|drawn|injected|"
                            r"discussed|advised|will|follow[- ]?up)\b", re.I)
_NARRATIVE = lazy_pattern(r"\b(?:is an?|presents|here (?:today|for)|understands|agrees|follow[- ]?up in|return)\b", re.I)


_HIGH_RISK = _LowerCasePattern(_HIGH_RISK)
_RX_DOSE = _LowerCasePattern(_RX_DOSE)
_RX_FORM = _LowerCasePattern(_RX_FORM)
_RX_WORDS = _LowerCasePattern(_RX_WORDS)
_RX_CONSIDERED = _LowerCasePattern(_RX_CONSIDERED)
_RX_NAME = _LowerCasePattern(_RX_NAME)
_MINOR_SURGERY = _LowerCasePattern(_MINOR_SURGERY)
_MAJOR_SURGERY = _LowerCasePattern(_MAJOR_SURGERY)
_DECISION = _LowerCasePattern(_DECISION)
_SDOH = _LowerCasePattern(_SDOH)
_OTC = _LowerCasePattern(_OTC)
_OFFICE_DRUG = _LowerCasePattern(_OFFICE_DRUG)
_RX_BRAND = _LowerCasePattern(_RX_BRAND)
_VACCINE = _LowerCasePattern(_VACCINE)
_REPORT = _LowerCasePattern(_REPORT)
_ESCALATION = _LowerCasePattern(_ESCALATION)
_TREATMENT_START = _LowerCasePattern(_TREATMENT_START)
_NEW_DIAGNOSIS = _LowerCasePattern(_NEW_DIAGNOSIS)
_SYSTEMIC_SYMPTOMS = _LowerCasePattern(_SYSTEMIC_SYMPTOMS)
_LOW_RISK = _LowerCasePattern(_LOW_RISK)
_EXTERNAL_NOTES = _LowerCasePattern(_EXTERNAL_NOTES)
_HISTORIAN = _LowerCasePattern(_HISTORIAN)
_INTERPRETATION = _LowerCasePattern(_INTERPRETATION)
_DISCUSSION = _LowerCasePattern(_DISCUSSION)
_SEVERE = _LowerCasePattern(_SEVERE)
_EXACERBATION = _LowerCasePattern(_EXACERBATION)
_SYSTEMIC = _LowerCasePattern(_SYSTEMIC)
_SERIOUS = _LowerCasePattern(_SERIOUS)
_MINOR = _LowerCasePattern(_MINOR)
_ACUTE = _LowerCasePattern(_ACUTE)
_WORKUP = _LowerCasePattern(_WORKUP)
_RECENT_ONSET = _LowerCasePattern(_RECENT_ONSET)
_CHRONIC_COURSE = _LowerCasePattern(_CHRONIC_COURSE)
_CHRONIC_NATURE = _LowerCasePattern(_CHRONIC_NATURE)
_UNDIAGNOSED = _LowerCasePattern(_UNDIAGNOSED)
_ORDERED = _LowerCasePattern(_ORDERED)
_REVIEWED = _LowerCasePattern(_REVIEWED)
_TESTS = tuple((name, _LowerCasePattern(rx)) for name, rx in _TESTS)


@dataclass
class ProblemItem:
    """One problem addressed in the assessment and plan."""

    label: str
    body: list[str] = field(default_factory=list)
    kind: str = CHRONIC
    reason: str = ""  # the wording that set the kind

    @property
    def text(self) -> str:
        return " ".join([self.label, *self.body])


@dataclass
class MdmEstimate:
    problems: list[ProblemItem]
    problems_level: int
    tests: list[str]
    external_notes: int
    independent_historian: bool
    independent_interpretation: bool
    external_discussion: bool
    data_level: int
    risk_level: int
    risk_reasons: list[str]

    @property
    def level(self) -> int:
        """The level two of the three elements reach: the middle one."""
        return sorted((self.problems_level, self.data_level, self.risk_level))[1]

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES[self.level]

    def data_summary(self) -> str:
        parts = []
        if self.tests:
            parts.append(f"{len(self.tests)} unique test{'s' if len(self.tests) > 1 else ''} "
                         f"({', '.join(self.tests)})")
        if self.external_notes:
            parts.append("external records reviewed")
        if self.independent_historian:
            parts.append("an independent historian")
        if self.independent_interpretation:
            parts.append("an independent interpretation")
        if self.external_discussion:
            parts.append("a discussion with an external physician")
        return ", ".join(parts) if parts else "no data reviewed or ordered"

    def problems_summary(self) -> str:
        if not self.problems:
            return "no problem stated in the assessment"
        by_kind: dict[str, list[str]] = {}
        for item in self.problems:
            by_kind.setdefault(item.kind, []).append(item.label)
        parts = []
        for kind, labels in by_kind.items():
            count = _count_word(len(labels))
            noun = kind if len(labels) == 1 else _pluralise_kind(kind)
            parts.append(f"{count} {noun} ({', '.join(labels)})")
        return "; ".join(parts)


def _count_word(n: int) -> str:
    return {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}.get(n, str(n))


def _pluralise_kind(kind: str) -> str:
    for singular, plural in (("illness or injury", "illnesses or injuries"), ("illness", "illnesses"),
                             ("problem", "problems"), ("injury", "injuries")):
        if singular in kind:
            return kind.replace(singular, plural, 1)
    return kind


# -- problems -----------------------------------------------------------------

def _assessment_lines(note: NoteDoc) -> tuple[list[str], list[str]]:
    """(assessment lines, plan lines), raw, blank lines dropped."""
    assessment = [ln for s in note.sections if s.name == "assessment" for ln in s.text.splitlines() if ln.strip()]
    plan = [ln for s in note.sections if s.name == "plan" for ln in s.text.splitlines() if ln.strip()]
    return assessment, plan


def _is_short_header(line: str, next_line: str | None) -> bool:
    """A problem heading written as a short line followed by bullet points ("Acid reflux." then "• ...")."""
    text = line.strip().rstrip(".:")
    if not text or _BULLET.match(line) or next_line is None or not _BULLET.match(next_line):
        return False
    return len(text.split()) <= 8 and not _NARRATIVE.search(text) and not _ACTION_LINE.search(text) \
        and ":" not in text


_LABEL_END = lazy_pattern(r"(?<!\bmr)(?<!\bms)(?<!\bdr)(?<!\bst)(?<!\bmrs)(?<!\bvs)\. ", re.I)


def _split_label(text: str) -> tuple[str, list[str]]:
    """ "Hyponatremia. Sodium 129 today." -> ("Hyponatremia", ["Sodium 129 today."]); a title's dot ("Mr. Cook")
    does not end the label."""
    m = _LABEL_END.search(text)
    head, rest = (text[:m.start()], text[m.end():]) if m else (text, "")
    label = head.strip().rstrip(".:")
    return label, ([rest.strip()] if rest.strip() else [])


def problem_items(note: NoteDoc) -> list[ProblemItem]:
    """Problems addressed, read from the assessment/plan: numbered items, short headings over bullets, or
    (for an assessment written as a few short lines over a narrative plan) each assessment line. Plan text
    that belongs to no item as written goes to the items it names (see :func:`_distribute`)."""
    assessment, plan = _assessment_lines(note)
    lines = assessment + plan
    items: list[ProblemItem] = []
    loose: list[str] = []  # plan lines outside any item
    current: ProblemItem | None = None
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        if i == len(assessment):
            # A separate plan section is not the last assessment item's own text.
            current = None
        numbered = _ITEM_NUMBERED.match(line) or _ITEM_PROBLEM.match(line)
        if _TIME_LINE.search(line):
            current = None  # the time attestation closes the problem list
        elif numbered:
            label, body = _split_label(numbered.group(1))
            current = ProblemItem(label, body)
            items.append(current)
        elif _is_short_header(line, nxt):
            current = ProblemItem(line.strip().rstrip(".:"))
            items.append(current)
        elif current is not None and _BULLET.match(line):
            current.body.append(_BULLET.sub("", line).strip())
        elif current is not None and not _NARRATIVE.search(line) and not line.rstrip().endswith(":"):
            current.body.append(line.strip())
        else:
            current = None
            if i >= len(assessment):
                loose.append(line.strip())
    if not items:
        # A narrative note: "ASSESSMENT\n\nRight medial epicondylitis.\n\nPLAN\n\n<paragraph>".
        loose = [ln.strip() for ln in plan if not _TIME_LINE.search(ln)]
        for line in assessment:
            label, body = _split_label(_BULLET.sub("", line).strip())
            if label and len(label.split()) <= 14 and not _NARRATIVE.search(label) \
                    and not _TIME_LINE.search(line) and not _ACTION_LINE.search(label):
                items.append(ProblemItem(label, body))
    _distribute(items, loose)
    return items


def _label_words(label: str) -> re.Pattern[str] | None:
    """The label's distinctive words, as a pattern that finds them (or their longer forms) in the plan."""
    words = [w for w in re.findall(r"[a-z]{4,}", label.lower()) if w not in _LABEL_STOPWORDS]
    return lazy_pattern(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")", re.I) if words else None


def _is_heading(line: str, named: list[ProblemItem]) -> bool:
    """A short line that says nothing but the problem's name ("Dandruff", "Acid reflux.")."""
    words = [w for w in re.findall(r"[a-z]{4,}", line.lower()) if w not in _LABEL_STOPWORDS]
    label_words = {w for item in named for w in re.findall(r"[a-z]{4,}", item.label.lower())}
    return len(line.split()) <= 8 and not re.search(r"[.;]\s", line) and not _ACTION_LINE.search(line) \
        and all(any(w.startswith(lw) or lw.startswith(w) for lw in label_words) for w in words)


def _distribute(items: list[ProblemItem], lines: list[str]) -> None:
    """Give each plan line to the items it names ("In terms of his diabetes, ..."); a short line naming an item
    heads the lines after it ("Dandruff" over its paragraph); a line naming none, under no heading, belongs to
    every item (the generous reading: a plan written as one narrative may treat any of them)."""
    if not items:
        return
    keys = [(item, _label_words(item.label)) for item in items]
    heading: list[ProblemItem] = []
    for line in lines:
        named = [item for item, key in keys if key is not None and key.search(line)]
        if named and _is_heading(line, named):
            heading = named
            continue
        for item in named or heading or items:
            item.body.append(line)


def _first_unnegated(rx: re.Pattern[str], text: str) -> str | None:
    for m in rx.finditer(text):
        if not is_negated_at(text, m.start()):
            return m.group(0)
    return None


def _history_mentions(note: NoteDoc, label: str) -> str:
    """What the HPI and chief complaint say about the problem the item names (its distinctive words)."""
    rx = _label_words(label)
    if rx is None:
        return ""
    return " ".join(s.text for s in note.sentences if s.section in ("hpi", "chief_complaint") and rx.search(s.text))


def classify(item: ProblemItem, note: NoteDoc) -> ProblemItem:
    """Set the item's kind, taking the highest kind any of its wording allows."""
    own = item.text
    history = _history_mentions(note, item.label)
    for kind, rx, texts in (
        (SEVERE, _SEVERE, (own,)),
        (EXACERBATION, _EXACERBATION, (own, history)),
        (SYSTEMIC, _SYSTEMIC, (item.label,)),
        (SYSTEMIC, _SYSTEMIC_SYMPTOMS, (own, history)),
        (SERIOUS, _SERIOUS, (item.label,)),
    ):
        for text in texts:
            hit = _first_unnegated(rx, text)
            if hit:
                item.kind, item.reason = kind, hit
                return item
    if (is_uncertain(item.label) or _UNDIAGNOSED.search(own)) and _WORKUP.search(own):
        item.kind, item.reason = UNDIAGNOSED, "uncertain diagnosis with work-up"
        return item
    if _MINOR.search(item.label):
        item.kind, item.reason = MINOR, _MINOR.search(item.label).group(0)
    elif _ACUTE.search(item.label) and not _NEW_DIAGNOSIS.search(own):
        item.kind, item.reason = ACUTE, _ACUTE.search(item.label).group(0)
    elif _recent_onset(own, history) and not _CHRONIC_COURSE.search(f"{own} {history}") \
            and not _CHRONIC_NATURE.search(item.label) and not any(_prescription(line) for line in item.body):
        # A problem the note dates to recent days or weeks, with nothing saying it persists or recurs,
        # managed without prescription drugs, is an acute uncomplicated illness, not a chronic one (AMA
        # MDM definitions: chronic = expected to last at least a year; uncomplicated = low risk of
        # morbidity). One treated with a prescription keeps the generous reading.
        item.kind, item.reason = ACUTE, _recent_onset(own, history)
    else:
        # Unknown course: read as chronic, the higher of the two readings when several are addressed. A chronic
        # problem whose treatment is raised or started at the visit is not at its treatment goal, hence not stable.
        item.kind, item.reason = CHRONIC, ""
        goal = _not_at_goal(item)
        if goal:
            item.kind, item.reason = EXACERBATION, goal
    return item


def _recent_onset(own: str, history: str) -> str | None:
    """The wording that dates the problem's onset to recent days or weeks."""
    for text in (own, history):
        for m in _RECENT_ONSET.finditer(text):
            if not is_negated_at(text, m.start()) and not _FOUND_ON.search(text[max(0, m.start() - 60):m.start()]):
                return m.group(0)
    return None


def _first_undeferred(rx, text: str) -> str | None:
    """The first match that no negation or deferral ("defer initiating", "declines starting") stands before."""
    for m in rx.finditer(text):
        if not is_negated_at(text, m.start()) and not _DEFERRED.search(text[max(0, m.start() - 40):m.start()]):
            return m.group(0)
    return None


def _not_at_goal(item: ProblemItem) -> str:
    """Why a chronic problem is not at its treatment goal, read from its own plan: a medication raised for it, or
    treatment started for it (which a newly diagnosed chronic illness put on treatment shows too)."""
    for line in item.body:
        hit = _first_undeferred(_ESCALATION, line)
        if hit:
            return f"not at treatment goal: {hit}"
    for line in item.body:
        hit = _first_undeferred(_TREATMENT_START, line)
        if hit:
            return f"not at treatment goal: treatment started ({hit})"
    if _NEW_DIAGNOSIS.search(item.text) and item.body:
        return "newly diagnosed, with a treatment plan"
    return ""


def problems_level(items: list[ProblemItem]) -> int:
    kinds = [i.kind for i in items]
    if SEVERE in kinds:
        return HIGH
    if any(k in (EXACERBATION, UNDIAGNOSED, SYSTEMIC, SERIOUS) for k in kinds) or kinds.count(CHRONIC) >= 2:
        return MODERATE
    if not kinds:
        return STRAIGHTFORWARD
    if kinds == [MINOR]:
        return STRAIGHTFORWARD
    return LOW


# -- data ---------------------------------------------------------------------

def _data_sentences(note: NoteDoc):
    """Sentences that can record this encounter's data work (not the past or family history)."""
    return [s for s in note.sentences if s.section not in ("pmh", "psh", "family", "social", "medications",
                                                          "allergies", "ros")]


def unique_tests(note: NoteDoc) -> list[str]:
    found: list[str] = []
    for s in _data_sentences(note):
        # A test named in the results or the plan is one reviewed or ordered (AMA: ordering includes tests
        # considered but not selected after shared decision making); elsewhere the wording must say so.
        in_results = s.section in ("results", "assessment", "plan", "instructions")
        if not (in_results or _ORDERED.search(s.text) or _REVIEWED.search(s.text)):
            continue
        here = [name for name, rx in _TESTS if _unnegated_search(rx, s.text)]
        if "labs" in here and any(t in LAB_TESTS for t in here):
            # "Labs: CBC and CMP" names the same tests twice; "labs" elsewhere may be others (generous).
            here.remove("labs")
        found += [name for name in here if name not in found]
    # A heading that names the tests ("Labs: Within normal limits", "EKG: sinus rhythm") is the review of
    # their results: the heading is consumed as a section title, so it is read there.
    for section in note.sections:
        if section.name in ("results", "exam", "assessment", "plan") and section.text.strip():
            for name, rx in _TESTS:
                if name not in found and _unnegated_search(rx, section.title):
                    found.append(name)
    return found


def _unnegated_search(rx, text: str) -> bool:
    m = rx.search(text)
    return m is not None and not is_negated_at(text, m.start())


# Tests read from images or tracings (an interpretation or report is customary), as opposed to lab values.
READ_TESTS = frozenset({
    "x-ray", "MRI", "CT", "ultrasound", "echocardiogram", "ECG", "angiography", "OCT", "visual field",
    "fundus photography", "barium study", "nuclear imaging", "heart monitor", "sleep study", "EEG",
    "ankle-brachial index", "spirometry", "EMG", "bone density", "mammogram", "stress test",
})
# A study done at this visit whose findings the note itself reports ("3 views of the right knee were taken today.
# These reveal no fracture."): with no report from anyone else, the findings are the physician's own reading.
_IN_OFFICE_STUDY = lazy_pattern(
    r"\b(?:obtained|taken|performed|done)\b[^.;]{0,60}?\b(?:today|in (?:the )?(?:office|clinic)|on today's visit|"
    r"at this visit)\b", re.I)
_IN_OFFICE_STUDY = _LowerCasePattern(_IN_OFFICE_STUDY)


def _read_in_office(note: NoteDoc) -> bool:
    """The note reports its own reading of an imaging study or tracing done at this visit."""
    for s in note.sentences:
        if s.section in ("results", "assessment", "plan") and _first_unnegated(_IN_OFFICE_STUDY, s.text) \
                and not _REPORT.search(s.text) \
                and any(name in READ_TESTS and _unnegated_search(rx, s.text) for name, rx in _TESTS):
            return True
    return False


def _interpreted(text: str) -> bool:
    """The sentence records the physician's own reading of a test (AMA "independent interpretation"), not the
    review of its written report."""
    for m in _INTERPRETATION.finditer(text):
        if not is_negated_at(text, m.start()) and not _REPORT.search(text[m.start():m.end() + 30]):
            return True
    return False


def data_level(tests: list[str], external_notes: int, historian: bool, interpretation: bool,
               discussion: bool) -> int:
    category1 = len(tests) + external_notes + (1 if historian else 0)
    moderate_categories = sum((category1 >= 3, interpretation, discussion))
    if moderate_categories >= 2:
        return HIGH
    if moderate_categories == 1:
        return MODERATE
    if len(tests) + external_notes >= 2 or historian:
        return LOW
    return STRAIGHTFORWARD


# -- risk ---------------------------------------------------------------------

def _management_text(note: NoteDoc) -> list[str]:
    managed = [s.text for s in note.sentences if s.section in ("assessment", "plan", "instructions", "procedure")]
    return managed or [s.text for s in note.sentences]


_RX = "prescription drug management"
_RX_OFFICE = "prescription drug management (a drug given by injection or infusion)"


def _prescription(text: str) -> str | None:
    """Why the sentence manages a prescription drug, or None."""
    for m in _RX_DOSE.finditer(text):
        if m.group(1).lower() not in OTC_DRUGS and not is_negated_at(text, m.start()):
            return _RX
    for rx in (_RX_FORM, _RX_WORDS, _RX_NAME):
        for m in rx.finditer(text):
            if m.group(0).lower() not in _NOT_DRUGS and not _OTC.search(m.group(0)) \
                    and not is_negated_at(text, m.start()):
                return _RX
    for m in _RX_BRAND.finditer(text):
        word = m.group(1).lower()
        if not text[m.start(1)].isupper() or not text[m.start(1) + 1:m.end(1)].replace("-", "").islower():
            continue  # the fast path matches lower-cased text: the capital is checked on the note's own
        if word not in _NOT_BRANDS and not word.endswith(("ology", "ics", "ist")) and not _OTC.search(word) \
                and not is_negated_at(text, m.start()):
            return _RX
    if _first_unnegated(_OFFICE_DRUG, text) and not _VACCINE.search(text):
        return _RX_OFFICE
    return None


def risk_of_management(note: NoteDoc) -> tuple[int, list[str]]:
    level, reasons = STRAIGHTFORWARD, []

    def raise_to(new_level: int, reason: str) -> None:
        nonlocal level
        if new_level > level:
            level = new_level
        if reason not in reasons:
            reasons.append(reason)

    # A kind of management found once need not be looked for again: only its first wording is reported.
    prescription = minor = major = otc = low = False
    for text in _management_text(note):
        hit = _first_unnegated(_HIGH_RISK, text)
        if hit:
            raise_to(HIGH, f"high-risk management ({hit.lower()})")
        if not prescription:
            why = _prescription(text)
            if not why and _RX_CONSIDERED.search(text):
                why = "prescription drug management considered and not selected (shared decision making)"
            if why:
                prescription = True
                raise_to(MODERATE, why)
        if not (minor and major) and _DECISION.search(text):
            if not minor and _first_unnegated(_MINOR_SURGERY, text):
                minor = True
                raise_to(MODERATE, "decision about a minor procedure")
            if not major and _first_unnegated(_MAJOR_SURGERY, text):
                major = True
                raise_to(MODERATE, "decision about surgery")
        if _SDOH.search(text):
            raise_to(MODERATE, "management limited by social determinants of health")
        if not otc and _first_unnegated(_OTC, text):
            otc = True
            raise_to(LOW, "over-the-counter drugs")
        if not low and _first_unnegated(_LOW_RISK, text):
            low = True
            raise_to(LOW, "low-risk treatment (therapy, bracing, referral)")
    return level, reasons


# -- the estimate -------------------------------------------------------------

def estimate_mdm(note: NoteDoc, coded_problems: list[str] | tuple[str, ...] = (),
                 tests_reported: bool = True) -> MdmEstimate:
    """The generous MDM estimate of a note.

    ``coded_problems`` names the distinct problems coded on the chart (e.g.
    "I10", diagnoses outside the Z chapter); when the assessment names fewer
    items than that, the extra coded problems count as addressed stable ones.
    ``tests_reported``: see :class:`MdmReader`.
    """
    return MdmReader(note, coded_problems, tests_reported).estimate()


class MdmReader:
    """Reads the three MDM elements of a note one at a time, each only when asked for.

    A check that only needs to know whether MDM reaches a level can stop once two
    elements decide it (the level is the one two of three reach), which spares the
    costlier readings on most notes.
    """

    def __init__(self, note: NoteDoc, coded_problems: list[str] | tuple[str, ...] = (),
                 tests_reported: bool = True):
        """``tests_reported``: whether the claim reports a test of its own (an imaging or tracing code). The AMA
        does not count the interpretation of a test the same physician reports; when the claim reports none, the
        note's own reading of a study done at the visit is an independent interpretation."""
        self.note = note
        self.coded_problems = coded_problems
        self.tests_reported = tests_reported

    @cached_property
    def _items(self) -> list[ProblemItem]:
        return problem_items(self.note)

    @cached_property
    def problems(self) -> list[ProblemItem]:
        items = [classify(item, self.note) for item in self._items]
        items += [ProblemItem(label, kind=CHRONIC) for label in self.coded_problems[len(items):]]
        return items

    def _problems_reach(self, rank: int) -> bool:
        """Whether the problems addressed reach ``rank``, classifying items only until they do (most
        notes reach the billed level early; classifying every item costs most of the reading)."""
        if "problems" in self.__dict__:
            return self.problems_level >= rank
        items = self._items
        coded = [ProblemItem(label, kind=CHRONIC) for label in self.coded_problems[len(items):]]
        done: list[ProblemItem] = []
        for item in items:
            done.append(classify(item, self.note))
            if problems_level(done + coded) >= rank:
                return True
        self.__dict__["problems"] = done + coded  # every item read: keep them for the estimate
        return self.problems_level >= rank

    @cached_property
    def problems_level(self) -> int:
        return problems_level(self.problems)

    @cached_property
    def data(self) -> tuple[list[str], int, bool, bool, bool]:
        """(unique tests, external notes, historian, interpretation, discussion)."""
        note = self.note
        tests = unique_tests(note)
        sentences = [s.text for s in _data_sentences(note)]
        # "I spent 25 minutes ..., including reviewing his records" lists what the time was spent on (the
        # patient's own chart), not records from an external source.
        external = sum(1 for t in sentences if _first_unnegated(_EXTERNAL_NOTES, t) and not _TIME_LINE.search(t))
        historian = any(_first_unnegated(_HISTORIAN, t) for t in sentences)
        interpretation = any(_interpreted(t) for t in sentences) or (not self.tests_reported and _read_in_office(note))
        discussion = any(_first_unnegated(_DISCUSSION, t) for t in sentences)
        return tests, external, historian, interpretation, discussion

    @cached_property
    def data_level(self) -> int:
        return data_level(*self.data)

    @cached_property
    def risk(self) -> tuple[int, list[str]]:
        risk, reasons = risk_of_management(self.note)
        if risk < LOW and any(item.body for item in self.problems):
            # The MDM table's low risk is broad ("low risk of morbidity from additional diagnostic testing or
            # treatment"); any documented plan for a problem is read as reaching it.
            risk = LOW
            reasons.append("a documented treatment plan")
        return risk, reasons

    def reaches(self, rank: int) -> bool:
        """Whether the MDM level is at least ``rank``: two of the three elements reach it."""
        reached = self._problems_reach(rank) + (self.risk[0] >= rank)
        if reached != 1:
            return reached == 2
        return self.data_level >= rank

    def estimate(self) -> MdmEstimate:
        tests, external, historian, interpretation, discussion = self.data
        risk, reasons = self.risk
        return MdmEstimate(
            problems=self.problems,
            problems_level=self.problems_level,
            tests=tests,
            external_notes=external,
            independent_historian=historian,
            independent_interpretation=interpretation,
            external_discussion=discussion,
            data_level=self.data_level,
            risk_level=risk,
            risk_reasons=reasons,
        )
