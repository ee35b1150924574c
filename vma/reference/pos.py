"""CMS place-of-service codes and the rules that tie them to settings and procedures.

Codes and names: CMS Place of Service Code Set (public domain), as published on
cms.gov ("Place of Service Code Set", updated through 2024). Facility versus
non-facility follows the Medicare Physician Fee Schedule's site-of-service
payment rule (Medicare Claims Processing Manual, Pub. 100-04, ch. 12, 20.4.2).
Rules on which codes belong where are data, in ``data/pos_rules.json``, with
their sources.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from vma.reference.values import Value, set_field

RULES_PATH = Path(__file__).resolve().parent / "data" / "pos_rules.json"

PLACES_OF_SERVICE: dict[str, str] = {
    "01": "Pharmacy",
    "02": "Telehealth provided other than in patient's home",
    "03": "School",
    "04": "Homeless shelter",
    "05": "Indian Health Service free-standing facility",
    "06": "Indian Health Service provider-based facility",
    "07": "Tribal 638 free-standing facility",
    "08": "Tribal 638 provider-based facility",
    "09": "Prison/correctional facility",
    "10": "Telehealth provided in patient's home",
    "11": "Office",
    "12": "Home",
    "13": "Assisted living facility",
    "14": "Group home",
    "15": "Mobile unit",
    "16": "Temporary lodging",
    "17": "Walk-in retail health clinic",
    "18": "Place of employment/worksite",
    "19": "Off campus-outpatient hospital",
    "20": "Urgent care facility",
    "21": "Inpatient hospital",
    "22": "On campus-outpatient hospital",
    "23": "Emergency room - hospital",
    "24": "Ambulatory surgical center",
    "25": "Birthing center",
    "26": "Military treatment facility",
    "27": "Outreach site/street",
    "31": "Skilled nursing facility",
    "32": "Nursing facility",
    "33": "Custodial care facility",
    "34": "Hospice",
    "41": "Ambulance - land",
    "42": "Ambulance - air or water",
    "49": "Independent clinic",
    "50": "Federally qualified health center",
    "51": "Inpatient psychiatric facility",
    "52": "Psychiatric facility - partial hospitalization",
    "53": "Community mental health center",
    "54": "Intermediate care facility/individuals with intellectual disabilities",
    "55": "Residential substance abuse treatment facility",
    "56": "Psychiatric residential treatment center",
    "57": "Non-residential substance abuse treatment facility",
    "58": "Non-residential opioid treatment facility",
    "60": "Mass immunization center",
    "61": "Comprehensive inpatient rehabilitation facility",
    "62": "Comprehensive outpatient rehabilitation facility",
    "65": "End-stage renal disease treatment facility",
    "66": "Programs of All-Inclusive Care for the Elderly (PACE) center",
    "71": "Public health clinic",
    "72": "Rural health clinic",
    "81": "Independent laboratory",
    "99": "Other place of service",
}

# Paid at the facility rate under the PFS (Pub. 100-04 ch. 12 20.4.2).
FACILITY_POS = frozenset({"19", "21", "22", "23", "24", "26", "31", "34", "41", "42", "51", "52", "53", "56", "61"})
TELEHEALTH_POS = frozenset({"02", "10"})


def pos_label(code: str | None) -> str:
    name = PLACES_OF_SERVICE.get(code or "")
    return f"POS {code} ({name})" if name else f"POS {code}"


class SettingRule(Value):
    __slots__ = ("setting", "accepted", "usual")
    setting: str
    accepted: frozenset[str]
    usual: tuple[str, ...]  # what to suggest, in order; more than one means the record must say which

    def __init__(self, setting: str, accepted: frozenset[str], usual: tuple[str, ...]) -> None:
        set_field(self, "setting", setting)
        set_field(self, "accepted", accepted)
        set_field(self, "usual", usual)


class CodeRule(Value):
    __slots__ = ("ranges", "label", "allowed", "not_allowed", "facility_only", "why")
    ranges: tuple[tuple[str, str], ...]
    label: str
    allowed: frozenset[str] | None  # only these POS (None: any)
    not_allowed: frozenset[str]
    facility_only: bool
    why: str

    def __init__(self, ranges: tuple[tuple[str, str], ...], label: str, allowed: frozenset[str] | None,
                 not_allowed: frozenset[str], facility_only: bool, why: str) -> None:
        set_field(self, "ranges", ranges)
        set_field(self, "label", label)
        set_field(self, "allowed", allowed)
        set_field(self, "not_allowed", not_allowed)
        set_field(self, "facility_only", facility_only)
        set_field(self, "why", why)

    def applies_to(self, code: str) -> bool:
        return any(len(code) == len(a) and a <= code <= b for a, b in self.ranges)

    def permits(self, pos: str) -> bool:
        if self.facility_only and pos not in FACILITY_POS:
            return False
        if self.allowed is not None and pos not in self.allowed:
            return False
        return pos not in self.not_allowed


class PosRules(Value):
    __slots__ = ("settings", "codes")
    settings: dict[str, SettingRule]
    codes: tuple[CodeRule, ...]

    def __init__(self, settings: dict[str, SettingRule], codes: tuple[CodeRule, ...]) -> None:
        set_field(self, "settings", settings)
        set_field(self, "codes", codes)

    def for_code(self, code: str) -> list[CodeRule]:
        return [r for r in self.codes if r.applies_to(code)]


def _ranges(items: list[str]) -> tuple[tuple[str, str], ...]:
    out = []
    for item in items:
        first, _, last = item.upper().partition("-")
        out.append((first, last or first))
    return tuple(out)


@lru_cache(maxsize=1)
def pos_rules() -> PosRules:
    data = json.loads(RULES_PATH.read_text())
    settings = {name: SettingRule(name, frozenset(s["accepted"]), tuple(s["usual"]))
                for name, s in data["settings"].items()}
    codes = tuple(
        CodeRule(_ranges(r["codes"]), r["label"], frozenset(r["allowed"]) if "allowed" in r else None,
                 frozenset(r.get("not_allowed", ())), bool(r.get("facility_only")), r["why"])
        for r in data["code_rules"])
    return PosRules(settings, codes)
