"""Payer rule packs: a clinic's payer-specific edits as data (contract section 7).

A pack is one YAML file in ``VMA_RULES_DIR`` for one payer (``payer_id``, or ``"*"`` for every
payer); each rule's ``when`` is a Common Expression Language (CEL) expression over ``chart`` (the
canonical chart of contract section 4 as a map, codes normalised) and ``age`` (whole years on the
date of service, null when unknown). Expressions are compiled once, when the pack is loaded, by
the ``cel`` package (``common-expression-language``, the Python binding of the maintained Rust
CEL implementation).

Loading never half-succeeds: every problem (YAML, a missing or mistyped field, a CEL syntax error,
a name the chart does not have, a rule ID used twice) is collected with the file and the rule that
has it, and a folder with any problem raises :class:`RulePackError`, which ``vma check`` and
``vma serve`` turn into exit 2. A rule whose expression cannot be evaluated on one chart (a null
where a number was compared) does not match that chart; it is logged, never a crash.

Domain code: no Slack, no store. The ``payer-rule`` check (``vma.checks.payer_rule``) gets the
compiled packs as reference data.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vma.chart import age_on_service

log = logging.getLogger(__name__)

ACTIONS = ("correct", "query", "info")
PACK_SUFFIXES = (".yaml", ".yml")
ANY_PAYER = "*"
# The fields of a rule and of a pack; anything else is reported, so a typo ("mesage") is not ignored.
RULE_FIELDS = {"id", "title", "when", "action", "message", "references", "question", "options"}
PACK_FIELDS = {"payer_id", "payer_name", "version", "source", "rules"}
MAX_RULE_ID = 60

# The chart's shape as CEL sees it (contract section 4). A nested dict is a map, a one-element list a
# list of that element, a string the scalar's type. Only these names may follow ``chart.``.
_SCALAR = "scalar"
CHART_SHAPE: dict[str, Any] = {
    "chart_id": _SCALAR, "document_id": _SCALAR, "version": _SCALAR,
    "patient": {"mrn": _SCALAR, "name": _SCALAR, "birth_date": _SCALAR, "sex": _SCALAR},
    "encounter": {"date_of_service": _SCALAR, "place_of_service": _SCALAR, "setting": _SCALAR,
                  "patient_status": _SCALAR, "admission_date": _SCALAR, "total_time_minutes": _SCALAR},
    "provider": {"npi": _SCALAR, "name": _SCALAR, "email": _SCALAR},
    "signature": {"signed_by": _SCALAR, "signed_at": _SCALAR},
    "note": {"text": _SCALAR, "sections": {"*": _SCALAR}},
    "diagnoses": [{"code": _SCALAR, "poa": _SCALAR}],
    "procedures": [{"code": _SCALAR, "modifiers": [_SCALAR], "units": _SCALAR, "diagnosis_pointers": [_SCALAR]}],
    "coverage": {"payer_id": _SCALAR, "payer_name": _SCALAR, "plan": _SCALAR},
}
VARIABLES = {"chart": CHART_SHAPE, "age": _SCALAR}
# CEL macros that bind a variable to each element of their receiver (CEL spec, "Macros").
_BINDING_MACROS = {"all", "exists", "exists_one", "map", "filter"}


@dataclass(frozen=True)
class RuleProblem:
    file: str
    rule: str | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: rule {self.rule}" if self.rule else self.file
        return f"{where}: {self.field}: {self.message}"


class RulePackError(ValueError):
    """Packs that cannot be used. Each problem names the file, the rule and the field."""

    def __init__(self, problems: list[RuleProblem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass
class Rule:
    id: str
    title: str
    when: str
    action: str
    message: str
    references: list[str] = field(default_factory=list)
    question: str | None = None
    options: list[str] = field(default_factory=list)
    program: Any = field(default=None, repr=False)

    def matches(self, context: dict[str, Any]) -> bool:
        try:
            return self.program.execute(context) is True
        except Exception as exc:  # one chart's nulls must not stop the others; the rule simply does not apply
            log.info("rule %s not evaluated on chart %s: %s", self.id, context["chart"].get("chart_id"),
                     type(exc).__name__)
            return False


@dataclass
class RulePack:
    path: str
    payer_id: str
    payer_name: str | None
    version: str | None
    source: str | None
    rules: list[Rule]

    def applies_to(self, payer_id: str | None) -> bool:
        return self.payer_id == ANY_PAYER or (payer_id is not None and self.payer_id == payer_id)


@dataclass
class RuleSet:
    packs: list[RulePack] = field(default_factory=list)

    def matching(self, chart_dict: dict[str, Any], age: int | None) -> list[tuple[RulePack, Rule]]:
        payer_id = (chart_dict.get("coverage") or {}).get("payer_id")
        context = {"chart": chart_dict, "age": age}
        return [(pack, rule) for pack in self.packs if pack.applies_to(payer_id)
                for rule in pack.rules if rule.matches(context)]


# -- the chart as CEL sees it ---------------------------------------------------------------------


def chart_for_cel(chart) -> dict[str, Any]:
    """The canonical chart as a CEL map: every field of the shape present (null when absent), so a rule
    reads ``chart.coverage.payer_id`` or ``p.modifiers`` on any chart; unknown fields are left out."""

    def project(value: Any, shape: Any) -> Any:
        if isinstance(shape, dict):
            if "*" in shape:
                return {str(k): project(v, shape["*"]) for k, v in (value or {}).items()}
            value = value if isinstance(value, dict) else {}
            return {k: project(value.get(k), sub) for k, sub in shape.items()}
        if isinstance(shape, list):
            return [project(v, shape[0]) for v in (value or [])]
        return value

    return project(chart.model_dump(mode="json"), CHART_SHAPE)


# -- checking an expression against the chart's shape -----------------------------------------------

_TOKEN = re.compile(r"""
    (?P<string>[rRbB]{0,2}(?:'''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"))
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[uU]?|0x[0-9a-fA-F]+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[.()\[\],])
  | (?P<other>\S)
""", re.S | re.X)


def _tokens(expr: str) -> list[tuple[str, str]]:
    return [(m.lastgroup, m.group(m.lastgroup)) for m in _TOKEN.finditer(expr)]


def _skip_group(tokens: list[tuple[str, str]], i: int, open_: str, close: str) -> int:
    depth = 0
    while i < len(tokens):
        if tokens[i] == ("punct", open_):
            depth += 1
        elif tokens[i] == ("punct", close):
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def shape_problems(expr: str) -> list[str]:
    """Names in ``expr`` the chart does not have: ``chart.encountr``, ``p.modifier`` inside
    ``chart.procedures.exists(p, ...)``, or a variable other than ``chart`` and ``age``.

    CEL itself is dynamically typed here (the Rust implementation has no checker for map shapes), so a
    misspelt field would only ever evaluate to an error and silently never match; this walk catches it
    when the pack is loaded. Paths are followed through ``.field``, ``[index]`` and the binding macros.
    """
    tokens = _tokens(expr)
    bound: dict[str, Any] = {}
    # Every name a macro binds; one bound over a value whose shape is not followed (the result of map,
    # a receiver already reported) is taken as it comes rather than reported again.
    loose = {tokens[k + 3][1] for k in range(len(tokens) - 4)
             if tokens[k] == ("punct", ".") and tokens[k + 1][1] in _BINDING_MACROS and tokens[k + 2] == ("punct", "(")
             and tokens[k + 3][0] == "ident" and tokens[k + 4] == ("punct", ",")}
    problems: list[str] = []
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        prev = tokens[i - 1] if i else None
        if kind != "ident" or (prev is not None and prev == ("punct", ".")):
            i += 1
            continue
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if text in ("true", "false", "null", "in") or (nxt == ("punct", "(")):
            i += 1  # a literal, an operator, or a global function such as size( or has(
            continue
        if text in VARIABLES:
            shape, path = VARIABLES[text], text
        elif text in bound:
            shape, path = bound[text], text
        else:
            # An unbound name: the first argument of a binding macro is declared just below, so only
            # names that are neither variables nor a macro's bound name are wrong.
            if text not in loose:
                problems.append(f"unknown name {text!r} (the expression sees 'chart' and 'age')")
            i += 1
            continue
        i += 1
        while i < len(tokens):
            tok = tokens[i]
            if tok == ("punct", "[") and isinstance(shape, (list, dict)):
                i = _skip_group(tokens, i, "[", "]")
                shape = shape[0] if isinstance(shape, list) else shape.get("*", _SCALAR)
                path += "[]"
                continue
            if tok == ("punct", ".") and i + 1 < len(tokens) and tokens[i + 1][0] == "ident":
                name = tokens[i + 1][1]
                after = tokens[i + 2] if i + 2 < len(tokens) else None
                if after == ("punct", "("):  # a method or macro on the value so far
                    if name in _BINDING_MACROS and i + 4 < len(tokens) \
                            and tokens[i + 3][0] == "ident" and tokens[i + 4] == ("punct", ","):
                        # a list binds its elements; a map its keys (CEL spec, "Macros")
                        bound[tokens[i + 3][1]] = shape[0] if isinstance(shape, list) else _SCALAR
                    break
                if isinstance(shape, dict) and "*" in shape:
                    shape, path = shape["*"], f"{path}.{name}"
                elif isinstance(shape, dict) and name in shape:
                    shape, path = shape[name], f"{path}.{name}"
                else:
                    fields = ", ".join(sorted(shape)) if isinstance(shape, dict) else "none: it is a list or a value"
                    problems.append(f"{path}.{name}: the chart has no such field (fields here: {fields})")
                    break
                i += 2
                continue
            break
    return problems


# -- loading -------------------------------------------------------------------------------------


def _compile(expr: str):
    import cel

    return cel.compile(expr)


def _text_list(value: Any) -> list[str] | None:
    if value is None:
        return []
    if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
        return [v.strip() for v in value]
    return None


def load_pack(path: Path, seen_ids: dict[str, str] | None = None) -> tuple[RulePack | None, list[RuleProblem]]:
    """One pack file: the pack (None when it is unusable as a whole) and every problem found."""
    import yaml

    from vma.conversations.lint import lint_query

    name = str(path)
    problems: list[RuleProblem] = []
    seen_ids = seen_ids if seen_ids is not None else {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return None, [RuleProblem(name, None, "(file)", f"cannot read: {exc}")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        return None, [RuleProblem(name, None, "(yaml)", f"not valid YAML{where}: {getattr(exc, 'problem', None) or exc}")]
    if not isinstance(data, dict):
        return None, [RuleProblem(name, None, "(pack)", "expected a mapping with payer_id and rules")]
    for key in sorted(set(data) - PACK_FIELDS):
        problems.append(RuleProblem(name, None, str(key), f"unknown field (a pack has {', '.join(sorted(PACK_FIELDS))})"))
    payer_id = data.get("payer_id")
    if isinstance(payer_id, int) and not isinstance(payer_id, bool):
        payer_id = str(payer_id)
    if not isinstance(payer_id, str) or not payer_id.strip():
        problems.append(RuleProblem(name, None, "payer_id", 'required: the payer ID the chart\'s coverage carries, or "*"'))
        payer_id = None
    for key in ("payer_name", "version", "source"):
        if data.get(key) is not None and not isinstance(data.get(key), (str, int, float)):
            problems.append(RuleProblem(name, None, key, "must be text"))
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        problems.append(RuleProblem(name, None, "rules", "required: a list of at least one rule"))
        raw_rules = []
    rules: list[Rule] = []
    for n, raw in enumerate(raw_rules):
        label = f"rules[{n}]"
        if not isinstance(raw, dict):
            problems.append(RuleProblem(name, label, "(rule)", "expected a mapping with id, title, when, action, message"))
            continue
        rid = raw.get("id")
        rid = str(rid).strip() if isinstance(rid, (str, int)) and not isinstance(rid, bool) else None
        who = rid or label
        bad = len(problems)
        for key in sorted(set(raw) - RULE_FIELDS):
            problems.append(RuleProblem(name, who, str(key), f"unknown field (a rule has {', '.join(sorted(RULE_FIELDS))})"))
        if not rid:
            problems.append(RuleProblem(name, who, "id", "required: a rule ID unique across every pack"))
        elif len(rid) > MAX_RULE_ID:
            problems.append(RuleProblem(name, who, "id", f"longer than {MAX_RULE_ID} characters"))
        elif rid in seen_ids:
            problems.append(RuleProblem(name, who, "id", f"duplicate rule ID: also in {seen_ids[rid]}"))
        else:
            seen_ids[rid] = name
        for key in ("title", "when", "message"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                problems.append(RuleProblem(name, who, key, "required text"))
        action = raw.get("action")
        if action not in ACTIONS:
            problems.append(RuleProblem(name, who, "action", f"must be one of {', '.join(ACTIONS)} (got {action!r})"))
        references = _text_list(raw.get("references"))
        if references is None:
            problems.append(RuleProblem(name, who, "references", "must be a list of text"))
        options = _text_list(raw.get("options"))
        if options is None:
            problems.append(RuleProblem(name, who, "options", "must be a list of text"))
        question = raw.get("question")
        if action == "query":
            # A query reaches the physician: it must be a compliant question (AHIMA/ACDIS query practice),
            # so a query rule carries its own neutral question; the payer's message stays with the coder.
            from vma.findings import OTHER, UNDETERMINED

            if not isinstance(question, str) or not question.strip():
                problems.append(RuleProblem(name, who, "question", "required for action query: the question the "
                                            "physician is asked (open or multiple choice, no payment words)"))
            elif not options:
                problems.append(RuleProblem(name, who, "options", "required for action query: the clinical answers "
                                            "offered (Other and Clinically undetermined are added)"))
            else:
                labels = [*options, OTHER, UNDETERMINED]
                for issue in lint_query(question, labels, "payer-rule"):
                    where, _, said = issue.partition(": ")
                    if where == "question" and said:
                        problems.append(RuleProblem(name, who, "question", said))
                    else:
                        problems.append(RuleProblem(name, who, "question" if issue.startswith("question") else "options",
                                                    issue))
        elif question is not None or raw.get("options"):
            problems.append(RuleProblem(name, who, "question", "only a rule with action query asks a question"))
        when = raw.get("when")
        program = None
        if isinstance(when, str) and when.strip():
            try:
                program = _compile(when)
            except Exception as exc:  # the cel package raises ValueError with the position of the error
                problems.append(RuleProblem(name, who, "when", f"CEL does not compile: {' '.join(str(exc).split())}"))
            else:
                for issue in shape_problems(when):
                    problems.append(RuleProblem(name, who, "when", issue))
        if len(problems) == bad:
            rules.append(Rule(id=rid, title=raw["title"].strip(), when=when, action=action, message=raw["message"].strip(),
                              references=references or [], question=question.strip() if isinstance(question, str) else None,
                              options=options or [], program=program))
    if problems or payer_id is None:
        return None, problems
    return RulePack(path=name, payer_id=payer_id.strip(), payer_name=_opt_text(data.get("payer_name")),
                    version=_opt_text(data.get("version")), source=_opt_text(data.get("source")), rules=rules), problems


def _opt_text(value: Any) -> str | None:
    return str(value).strip() if value is not None else None


def pack_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in PACK_SUFFIXES
                  and not p.name.startswith("."))


def load_rules(folder: str | Path | None) -> RuleSet:
    """Every pack in the folder, compiled; raises :class:`RulePackError` listing every problem."""
    if not folder:
        return RuleSet()
    root = Path(folder)
    if not root.is_dir():
        raise RulePackError([RuleProblem(str(root), None, "VMA_RULES_DIR", "not a folder")])
    packs: list[RulePack] = []
    problems: list[RuleProblem] = []
    seen: dict[str, str] = {}
    for path in pack_files(root):
        pack, found = load_pack(path, seen)
        problems.extend(found)
        if pack is not None:
            packs.append(pack)
    if problems:
        raise RulePackError(problems)
    return RuleSet(packs)


# -- a pack's own example charts (``vma rules test DIR``) -------------------------------------------

EXPECTED_FILE = "expected.yaml"


@dataclass
class PackTestResult:
    file: str
    expected: list[str] | None
    got: list[str]
    error: str | None = None

    @property
    def exit_code(self) -> int:
        if self.error:
            return 2
        return 0 if sorted(self.expected or []) == sorted(self.got) else 1

    def line(self) -> str:
        if self.error:
            return f"ERROR {self.file}: {self.error}"
        if self.exit_code == 0:
            return f"ok    {self.file}: {', '.join(self.got) or 'no rule'}"
        missing = sorted(set(self.expected or []) - set(self.got))
        extra = sorted(set(self.got) - set(self.expected or []))
        return (f"FAIL  {self.file}: expected {', '.join(self.expected or []) or 'no rule'}, got "
                f"{', '.join(self.got) or 'no rule'}" + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unexpected {', '.join(extra)}" if extra else ""))


def run_pack_tests(folder: str | Path) -> list[PackTestResult]:
    """Each chart in ``folder/tests`` (any intake format) checked against the packs of ``folder`` alone;
    ``tests/expected.yaml`` maps each chart's file name to the rule IDs it must meet (``[]`` for none).
    Raises :class:`RulePackError` when the packs or ``expected.yaml`` cannot be used."""
    import yaml

    from vma.chart import ChartInputError
    from vma.intake import parse_chart

    root = Path(folder)
    rules = load_rules(root)
    tests = root / "tests"
    expected_path = tests / EXPECTED_FILE
    if not tests.is_dir():
        raise RulePackError([RuleProblem(str(tests), None, "(folder)", "no tests/ folder of example charts")])
    try:
        expected = yaml.safe_load(expected_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RulePackError([RuleProblem(str(expected_path), None, "(file)", f"cannot read: {exc}")]) from None
    if not isinstance(expected, dict) or not all(isinstance(v, list) for v in expected.values()):
        raise RulePackError([RuleProblem(str(expected_path), None, "(file)",
                                         "expected a mapping of chart file name to a list of rule IDs")])
    results: list[PackTestResult] = []
    charts = sorted(p for p in tests.iterdir() if p.is_file() and p.name != EXPECTED_FILE
                    and not p.name.startswith(".") and p.suffix.lower() in (".json", ".hl7", ".er7"))
    for path in charts:
        want = expected.get(path.name)
        if want is None:
            results.append(PackTestResult(path.name, None, [], f"not listed in tests/{EXPECTED_FILE}"))
            continue
        try:
            chart, _ = parse_chart(path.read_bytes())
        except (OSError, ChartInputError) as exc:
            results.append(PackTestResult(path.name, [str(w) for w in want], [], f"cannot read the chart: {exc}"))
            continue
        got = [rule.id for _, rule in rules.matching(chart_for_cel(chart), age_on_service(chart))]
        results.append(PackTestResult(path.name, [str(w) for w in want], got))
    for name in sorted(set(expected) - {p.name for p in charts}):
        results.append(PackTestResult(str(name), None, [], f"listed in tests/{EXPECTED_FILE} but not found"))
    return results
