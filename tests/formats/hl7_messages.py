"""Synthetic HL7 v2 messages shaped like EHR interface-engine output (invented patients and providers)."""

from __future__ import annotations

ATTENDING = "1234567893^Lopez^Maria^^^^MD^^NPI^L^^^NPI"


def mdm(trigger: str = "T02", *, status: str = "AU", doc_id: str = "DOC-5501-1", parent: str = "",
        visit: str = "ENC-5501", patient_class: str = "O", location: str = "CLINIC^^^NORTH-CLINIC^^O^^^Office (POS 11)",
        note_lines: tuple[str, ...] = ("ASSESSMENT", "", "Right knee pain after a fall.", "", "I spent 25 minutes today."),
        dg1: tuple[str, ...] = ("DG1|1||M25.561^Pain in right knee^I10C|||F",),
        ft1: tuple[str, ...] = ("FT1|1|||20261116|20261116|CG|99213^Office visit est^C4|||1||||||||||M25.561^Pain in right knee^I10C|||||||99213^Office visit est^C4",),
        extra: tuple[str, ...] = (), sep: str = "\r", edit_time: str = "", signed: str = "20261116170000-0500") -> str:
    segments = [
        f"MSH|^~\\&|EHR|NORTH-CLINIC|VMA|CODING|20261116170500-0500||MDM^{trigger}^MDM_T02|CTL-{doc_id}-{trigger}|P|2.5.1",
        f"EVN|{trigger}|20261116170500-0500",
        "PID|1||MRN-5501^^^NORTH-CLINIC^MR~999-00-0000^^^SSA^SS||Rivera^Jordan^Q||19800412|F",
        f"PV1|1|{patient_class}|{location}||||{ATTENDING}||||||||||||{visit}" + "|" * 25 + "20261115",
        f"TXA|1|PN|TX|20261116|{ATTENDING}|||{edit_time}||||{doc_id}|{parent}||||{status}|||||{ATTENDING}^^{signed}",
    ]
    for i, line in enumerate(note_lines, start=1):
        segments.append(f"OBX|{i}|TX|11506-3^Progress note^LN||{line}||||||F")
    segments.extend(dg1)
    segments.extend(ft1)
    segments.extend(extra)
    return sep.join(segments) + sep


def oru(result_status: str = "F") -> str:
    return "\r".join([
        "MSH|^~\\&|EHR|NORTH-CLINIC|VMA|CODING|20261117090000||ORU^R01^ORU_R01|CTL-ORU-1|P|2.5.1",
        "PID|1||MRN-7702^^^NORTH-CLINIC^MR||Okafor^Dana||19611130|M",
        f"PV1|1|O|CLINIC^^^NORTH-CLINIC^^O^^^Office (POS 11)||||{ATTENDING}||||||||||||ENC-7702",
        f"OBR|1|PLC-88|FIL-88|11506-3^Progress note^LN|||20261117083000|||||||||||||||20261117085500|||{result_status}",
        "OBX|1|TX|11506-3^Progress note^LN||CHIEF COMPLAINT||||||F",
        "OBX|2|TX|11506-3^Progress note^LN||Cough for two weeks.||||||F",
        "OBX|3|NM|8867-4^Heart rate^LN||72|/min|||||F",
        "DG1|1||R05.2^Subacute cough^I10C|||F",
    ]) + "\r"


def segment(name: str, values: dict[int, str]) -> str:
    """A segment from {field number: value}, so tests never miscount pipes."""
    width = max(values) if values else 0
    return "|".join([name] + [values.get(i, "") for i in range(1, width + 1)])


def ft1(index: int, code: str, *, units: str = "1", diagnoses: str = "", modifiers: str = "", date: str = "20261116") -> str:
    return segment("FT1", {1: str(index), 4: date, 5: date, 6: "CG", 7: f"{code}^^C4", 10: units, 19: diagnoses,
                           25: f"{code}^^C4" if code else "", 26: modifiers})


def pr1(index: int, code: str, *, diagnosis: str = "", modifiers: str = "") -> str:
    return segment("PR1", {1: str(index), 3: f"{code}^^C4", 5: "20261116", 15: diagnosis, 16: modifiers})


def dg1(index: int, code: str, *, poa: str = "") -> str:
    return segment("DG1", {1: str(index), 3: f"{code}^^I10C", 6: "F", 26: poa})
