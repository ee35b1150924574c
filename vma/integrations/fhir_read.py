"""Reading FHIR R4/R4B: the code systems vma knows, validation against the FHIR models, the index of a
bundle's resources, and the small readers (codings, dates, names, identifiers, XHTML narrative) the
mapping in ``vma.integrations.fhir`` builds on."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any, Iterator

from pydantic import ValidationError

from vma.chart import ChartInputError, FieldError


ICD10CM = {"http://hl7.org/fhir/sid/icd-10-cm", "urn:oid:2.16.840.1.113883.6.90"}
CPT = {"http://www.ama-assn.org/go/cpt", "urn:oid:2.16.840.1.113883.6.12"}
HCPCS = {"https://www.cms.gov/medicare/coding/hcpcsreleasecodesets", "http://www.cms.gov/medicare/coding/hcpcsreleasecodesets",
         "urn:oid:2.16.840.1.113883.6.285", "http://terminology.hl7.org/codesystem/hcpcs-all-codes"}
NPI = {"http://hl7.org/fhir/sid/us-npi", "urn:oid:2.16.840.1.113883.4.6"}
TOP_LEVEL = ("Bundle", "DocumentReference", "Composition")
SIGNED_DOC_STATUS = {"final", "amended"}
GENDER = {"male": "M", "female": "F", "other": "O", "unknown": "U"}
CLASS_SETTING = {"AMB": "office", "VR": "telehealth", "EMER": "emergency", "IMP": "inpatient", "ACUTE": "inpatient",
                 "NONAC": "inpatient", "OBSENC": "outpatient-hospital", "SS": "outpatient-hospital"}
POS_SETTING = {"11": "office", "02": "telehealth", "10": "telehealth", "21": "inpatient",
               "22": "outpatient-hospital", "19": "outpatient-hospital", "23": "emergency"}
MAX_ERRORS = 20


def _err(field: str, message: str) -> ChartInputError:
    return ChartInputError([FieldError(field=field, message=message)])


# ---------------------------------------------------------------- validation


def _fhir_path(root: str, loc: tuple) -> str:
    out = root
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "root" or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(part)):
            continue  # pydantic's own wrappers (root models, validator names) are not FHIR elements
        else:
            out += f".{part}"
    return out


def _walk_resources(node: Any, path: str) -> Iterator[tuple[str, dict]]:
    if isinstance(node, dict):
        if isinstance(node.get("resourceType"), str) or "resourceType" in node:
            yield path, node
        for key, value in node.items():
            yield from _walk_resources(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk_resources(value, f"{path}[{i}]")


def _validate(obj: dict, resource_type: str) -> None:
    """Structure and types by the R4B models; unknown elements are tolerated, everything else is named."""
    from fhir.resources.R4B import get_fhir_model_class

    errors: list[FieldError] = []
    for path, res in _walk_resources(obj, resource_type):
        kind = res.get("resourceType")
        if path == resource_type:
            continue
        if not isinstance(kind, str) or not kind:
            errors.append(FieldError(field=f"{path}.resourceType", message="must be a resource type name"))
            continue
        try:
            get_fhir_model_class(kind)
        except Exception:
            errors.append(FieldError(field=f"{path}.resourceType", message=f"unknown FHIR resource type {kind!r}"))
    if errors:
        raise ChartInputError(errors[:MAX_ERRORS])
    model = get_fhir_model_class(resource_type)
    try:
        model.model_validate(obj)
    except ValidationError as exc:
        for e in exc.errors():
            if e.get("type") == "extra_forbidden":
                continue
            msg = e.get("msg", "invalid")
            errors.append(FieldError(field=_fhir_path(resource_type, tuple(e.get("loc", ()))), message=msg))
        if errors:
            raise ChartInputError(errors[:MAX_ERRORS]) from None


# ---------------------------------------------------------------- resource index


class _Resources:
    """Every resource in the input with its FHIR path, resolvable by reference."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict]] = []
        self._by_key: dict[str, dict] = {}
        self._paths: dict[int, str] = {}

    def add(self, path: str, res: dict, full_url: str | None = None) -> None:
        self.items.append((path, res))
        self._paths[id(res)] = path
        kind, rid = res.get("resourceType"), res.get("id")
        if isinstance(full_url, str) and full_url:
            self._by_key.setdefault(full_url, res)
            tail = _type_id_tail(full_url)
            if tail:
                self._by_key.setdefault(tail, res)
        if isinstance(kind, str) and isinstance(rid, str):
            self._by_key.setdefault(f"{kind}/{rid}", res)
        for j, contained in enumerate(res.get("contained") or []):
            if isinstance(contained, dict):
                cpath = f"{path}.contained[{j}]"
                self.items.append((cpath, contained))
                self._paths[id(contained)] = cpath
                if isinstance(contained.get("id"), str):
                    self._by_key.setdefault("#" + contained["id"], contained)

    def path(self, res: dict) -> str:
        return self._paths.get(id(res), str(res.get("resourceType", "resource")))

    def of_type(self, kind: str) -> list[dict]:
        return [r for _, r in self.items if r.get("resourceType") == kind]

    def resolve(self, ref: Any) -> dict | None:
        if not isinstance(ref, dict):
            return None
        target = ref.get("reference")
        if not isinstance(target, str) or not target:
            return None
        target = re.sub(r"/_history/[^/]+$", "", target)
        if target in self._by_key:
            return self._by_key[target]
        tail = _type_id_tail(target)
        return self._by_key.get(tail) if tail else None


def _type_id_tail(url: str) -> str | None:
    m = re.search(r"([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$", url)
    return f"{m.group(1)}/{m.group(2)}" if m else None


def _collect(obj: dict) -> _Resources:
    index = _Resources()
    if obj.get("resourceType") != "Bundle":
        index.add(obj["resourceType"], obj)
        return index
    for i, entry in enumerate(obj.get("entry") or []):
        res = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(res, dict):
            continue  # a deleted resource in a history bundle, or a bare request
        path = f"Bundle.entry[{i}].resource"
        index.add(path, res, entry.get("fullUrl"))
        if res.get("resourceType") == "Bundle":  # a notification carrying the focus bundle
            for k, inner in enumerate(res.get("entry") or []):
                if isinstance(inner, dict) and isinstance(inner.get("resource"), dict):
                    index.add(f"{path}.entry[{k}].resource", inner["resource"], inner.get("fullUrl"))
    return index


# ---------------------------------------------------------------- small readers


def _codings(concept: Any) -> list[dict]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding") or [] if isinstance(c, dict)]


def _code_in(concept: Any, systems: set[str]) -> str | None:
    for coding in _codings(concept):
        system = str(coding.get("system") or "").lower().rstrip("/")
        if system in {s.lower() for s in systems} and coding.get("code"):
            return str(coding["code"]).strip()
    return None


def _pos_code(concept: Any) -> str | None:
    for coding in _codings(concept):
        system = str(coding.get("system") or "").lower()
        code = str(coding.get("code") or "").strip()
        if ("place" in system and "service" in system) and re.fullmatch(r"\d{1,2}", code):
            return code.zfill(2)
    return None


def _first_code(concept: Any) -> str | None:
    for coding in _codings(concept):
        if coding.get("code"):
            return str(coding["code"]).strip()
    if isinstance(concept, dict) and concept.get("text"):
        return str(concept["text"]).strip()
    return None


def _date(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return value[:10] if re.match(r"^\d{4}-\d{2}-\d{2}", value) else value


def _timestamp_version(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    digits = re.sub(r"\D", "", value.split("+")[0].split("Z")[0])[:14]
    if len(digits) < 8:
        return None
    return int(digits.ljust(14, "0"))


def _human_name(names: Any, with_suffix: bool) -> str | None:
    if not isinstance(names, list) or not names:
        return None
    chosen = next((n for n in names if isinstance(n, dict) and n.get("use") == "official"), names[0])
    if not isinstance(chosen, dict):
        return None
    given = " ".join(str(g) for g in chosen.get("given") or [] if g)
    family = str(chosen.get("family") or "")
    name = " ".join(p for p in (given, family) if p)
    if not name:
        return str(chosen["text"]).strip() if chosen.get("text") else None
    suffix = ", ".join(str(s) for s in chosen.get("suffix") or [] if s)
    return f"{name}, {suffix}" if with_suffix and suffix else name


def _identifier(res: dict, systems: set[str] | None = None, type_code: str | None = None) -> str | None:
    ids = [i for i in res.get("identifier") or [] if isinstance(i, dict) and i.get("value")]
    if systems is not None:
        for ident in ids:
            if str(ident.get("system") or "").lower().rstrip("/") in {s.lower() for s in systems}:
                return str(ident["value"]).strip()
        return None
    if type_code:
        for ident in ids:
            if any(str(c.get("code") or "").upper() == type_code for c in _codings(ident.get("type"))):
                return str(ident["value"]).strip()
    return str(ids[0]["value"]).strip() if ids else None


class _TextOfHtml(HTMLParser):
    _BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data):
        self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _TextOfHtml()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # broken markup: fall back to removing the tags
        return html.unescape(re.sub(r"<[^>]*>", " ", markup)).strip()
    text = "".join(parser.parts)
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.splitlines()]
    out = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", out).strip()
