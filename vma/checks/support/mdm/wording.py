"""The levels and the wording MDM elements are read from: problem kinds, tests, data categories, prescription drugs and other management risk (AMA CPT E/M guidelines, table of MDM elements)."""

from __future__ import annotations

import re
import sys
from functools import lru_cache

from vma.checks.support.notes.patterns import LowerCasePattern as _LowerCasePattern
from vma.checks.support.notes.patterns import _lowered, _trie_regex, lazy_pattern
from vma.checks.support.notes.words import is_negated_at
from vma.compiled_patterns import MachineCache

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
# "for the past|last N days" written out once for each word, so that its gate looks for "past " and "last ", not
# the "for " of most sentences.
_RECENT_SPAN = r"(?:\d+|one|two|three|four|five|six|few|several) (?:days?|weeks?)\b"
_RECENT_ONSET = lazy_pattern(
    r"\brecent(?:ly)?\b|\b(?:\d+|one|two|three|four|five|six|a few|several|a couple of) (?:days?|weeks?)"
    r"(?: ago| of| now|, since)\b|\bfor (?:the )?past " + _RECENT_SPAN + r"|\bfor (?:the )?last " + _RECENT_SPAN
    + r"|\bsince (?:yesterday|last week)\b", re.I)
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
_TIME_LINE = _LowerCasePattern(_TIME_LINE)
_ACTION_LINE = _LowerCasePattern(_ACTION_LINE)
_NARRATIVE = _LowerCasePattern(_NARRATIVE)


class NarrowGate:
    """A pattern tried only where a gate written out by hand finds something in the lower-cased text: one of the
    wordings every match of the pattern holds, where the gate derived from the pattern settles for a word as common
    as "day" and lets the costly pattern run on most texts. Text whose lower-casing changes its length is read by
    the pattern itself, which then runs its case-insensitive form on the text as written."""

    __slots__ = ("rx", "gate")

    def __init__(self, rx: _LowerCasePattern, gate: str):
        self.rx = rx
        self.gate = lazy_pattern(gate)

    def finditer(self, text: str):
        lowered = _lowered(text)
        if len(lowered) == len(text) and self.gate.search(lowered) is None:
            return iter(())
        return self.rx.finditer(text)

    def search(self, text: str):
        lowered = _lowered(text)
        if len(lowered) == len(text) and self.gate.search(lowered) is None:
            return None
        return self.rx.search(text)


# _RECENT_ONSET branch by branch: "recent"; "N days|weeks ago|of|now|, since"; "for (the) past|last N days";
# "since yesterday|last week".
_RECENT_ONSET_GATED = NarrowGate(
    _RECENT_ONSET, r"recent|days?(?: ago| of| now|, since)|weeks?(?: ago| of| now|, since)|for (?:the )?(?:past|last) |"
                   r"since (?:yesterday|last week)")

# _EXACERBATION without its word boundaries and lookahead, its "not ..." (not well controlled, not at goal, not
# improving), "... controlled" and "above ..." written out: "not " and "controlled" ("well controlled") stand in
# most problems' text.
_EXACERBATION_GATED = NarrowGate(
    _EXACERBATION, r"flar|worsen|uncontrolled|poorly controlled|not (?:well|controlled|at |yet at|improv)|"
                   r"suboptimal|above (?:goal|target|the |his |her )|exacerbation|acute on chronic|progressi|"
                   r"side effect|adverse |has not improved|have not improved|no improvement|failed to improve|"
                   r"advanced|elevated|trending (?:up|higher)|out of control|inadequate|unstable|deteriorat")
# _UNDIAGNOSED without its word boundaries, its "to determine ...", "concern ..." and the like written out.
_UNDIAGNOSED_GATED = NarrowGate(
    _UNDIAGNOSED, r"undiagnosed|uncertain prognosis|unclear (?:etiology|cause)|unknown (?:etiology|cause)|to rule out|"
                  r"to r/o|to exclude|to evaluate for|to assess for|to determine (?:if|whether)|"
                  r"concern(?:ed)? (?:for|about|that)|suspicious (?:for|of)|worrisome for|cannot (?:be )?rule|"
                  r"differential")


def _first_unnegated(rx: re.Pattern[str], text: str) -> str | None:
    for m in rx.finditer(text):
        if not is_negated_at(text, m.start()):
            return m.group(0)
    return None


_RX = "prescription drug management"
_DIGIT = re.compile(r"\d")
_RX_OFFICE = "prescription drug management (a drug given by injection or infusion)"


# Factoring two hundred literals into a gate costs a process more than a chart's reading of them: kept on disk.
_DRUG_GATES = MachineCache(f"mdm-drug-gates-py{sys.version_info[0]}{sys.version_info[1]}.pickle")


def _drug_words_source(literals: tuple[tuple[str, ...], ...]) -> str:
    gates = _DRUG_GATES.entries()
    if literals not in gates:
        _DRUG_GATES.add(literals, _trie_regex(set().union(*literals)))
    return gates[literals]


@lru_cache(maxsize=1)
def _drug_words() -> re.Pattern[str] | None:
    """The gates of _RX_FORM, _RX_WORDS and _RX_NAME in one (None when one of them has no gate), built on first use."""
    literals = [rx.gate_literals for rx in (_RX_FORM, _RX_WORDS, _RX_NAME)]
    return None if None in literals else lazy_pattern(_drug_words_source(tuple(literals)))


def _may_name_drug(text: str) -> bool:
    """Whether _RX_FORM, _RX_WORDS or _RX_NAME may match: their gates' literals in one gate, tried once. Most plan
    sentences name no drug, and each gate on its own costs about as much as the three together."""
    gate, lowered = _drug_words(), _lowered(text)
    # Where the patterns read the text as written, their own gates are not used either.
    return gate is None or len(lowered) != len(text) or gate.search(lowered) is not None


def _prescription(text: str) -> str | None:
    """Why the sentence manages a prescription drug, or None."""
    # A dose has a digit; a brand name, a capital after the verb (never the sentence's first letter). Their
    # patterns cost the most of the reading, and are run only where that character stands.
    if _DIGIT.search(text):
        for m in _RX_DOSE.finditer(text):
            if m.group(1).lower() not in OTC_DRUGS and not is_negated_at(text, m.start()):
                return _RX
    for rx in (_RX_FORM, _RX_WORDS, _RX_NAME) if _may_name_drug(text) else ():
        for m in rx.finditer(text):
            if m.group(0).lower() not in _NOT_DRUGS and not _OTC.search(m.group(0)) \
                    and not is_negated_at(text, m.start()):
                return _RX
    for m in _RX_BRAND.finditer(text) if not text[1:].islower() else ():
        word = m.group(1).lower()
        if not text[m.start(1)].isupper() or not text[m.start(1) + 1:m.end(1)].replace("-", "").islower():
            continue  # the fast path matches lower-cased text: the capital is checked on the note's own
        if word not in _NOT_BRANDS and not word.endswith(("ology", "ics", "ist")) and not _OTC.search(word) \
                and not is_negated_at(text, m.start()):
            return _RX
    if _first_unnegated(_OFFICE_DRUG, text) and not _VACCINE.search(text):
        return _RX_OFFICE
    return None
