"""The findings ``vma check --json`` prints for every labelled chart we hold, recorded so that a speed-up
can be shown to change nothing: ``python -m tests.speed.output_record`` writes them again (only when a
change of judgement is meant, and reviewed in the diff with the accuracy figures).

The charts: the shared development set and the spec's examples (beside the clone, in ``../shared``) and
the project's own labelled sets (``tests/evalset*``). Each line is ``{"chart": label, "exit": status,
"lines": [[stream, text], ...]}``, the lines exactly as the command prints them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
RECORD = Path(__file__).with_name("expected") / "check_output.jsonl"
SUFFIXES = (".json", ".hl7", ".er7")


def chart_files() -> dict[str, Path]:
    """Label (a path relative to its set's parent) -> file, for every chart we can find."""
    folders = [SHARED / "devset" / "cases", SHARED / "spec" / "examples",
               *sorted(ROOT.glob("tests/evalset*/cases"))]
    found: dict[str, Path] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        base = SHARED if folder.is_relative_to(SHARED) else ROOT
        for path in sorted(folder.iterdir()):
            if path.suffix in SUFFIXES and not path.name.endswith(".expected.json"):
                found[str(path.relative_to(base))] = path
    return found


def labelled_release():
    """The ICD-10-CM release a check of the first labelled chart reads, or None where there is none."""
    from vma.checks import CheckContext
    from vma.intake import parse_chart
    from vma.reference import default_reference

    path = next((p for p in chart_files().values() if p.suffix == ".json"), None)
    if path is None:
        return None
    chart, _ = parse_chart(path.read_bytes())
    return CheckContext(chart, default_reference()).icd


def chart_notes() -> list:
    """The note of each recorded chart that has one, read as a check reads it (NoteDoc)."""
    from vma.checks.support.notes.document import NoteDoc

    notes = []
    for path in chart_files().values():
        chart = json.loads(path.read_text()) if path.suffix == ".json" else None
        note = chart.get("note") if isinstance(chart, dict) else None
        if isinstance(note, dict):
            notes.append(NoteDoc.from_chart_note(note.get("text"), note.get("sections")))
    return notes


def documentation_by_code(path: Path) -> dict:
    """What the refinement's documentation() finds for each diagnosis of a chart, in comparable form: the gate
    tests compare it with and without a shortcut."""
    from vma.checks import CheckContext
    from vma.checks.support.axes.index import axis_index
    from vma.checks.support.refine import documented
    from vma.intake import parse_chart
    from vma.reference import default_reference

    chart, _ = parse_chart(path.read_bytes())
    ctx = CheckContext(chart, default_reference())
    index = axis_index(ctx.icd)
    out = {}
    for _position, dx, _entry in ctx.known_diagnoses():
        base = index.split_seventh(dx.code)[0]
        if base not in index.release:
            continue
        doc = documented.documentation(ctx.note, index, base, ctx.outpatient)
        out[dx.code] = (
            [(k, [s.start for s in v]) for k, v in doc.terms.items()],
            [(k, [s.start for s in v]) for k, v in doc.full.items()],
            sorted(doc.hinted), sorted(doc.by_inclusion), doc.defaulted, doc.side, doc.acuity,
            [s.start for s in doc.acuity_sentences], doc.site, doc.side_conflict)
    return out


def check_output(label: str, path: Path) -> dict:
    from vma.check_files import _check_one

    lines, status = _check_one(label, str(path), None, True)
    return {"chart": label, "exit": status, "lines": [list(line) for line in lines]}


def main() -> int:
    files = chart_files()
    if not any(label.startswith("devset/") for label in files):
        print(f"{SHARED} is missing: the record would leave out the development set", file=sys.stderr)
        return 2
    RECORD.parent.mkdir(exist_ok=True)
    with RECORD.open("w") as out:
        for label, path in files.items():
            out.write(json.dumps(check_output(label, path), sort_keys=True) + "\n")
    print(f"recorded {len(files)} charts in {RECORD.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
