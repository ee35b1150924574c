"""The catalogue of checks as documentation: one row per check, from what each check declares.

``python -m vma.checks.catalog`` prints the Markdown table the README carries
between the ``checks-table`` markers; a test keeps the two in step, so the
README never describes a check that is not there.
"""

from __future__ import annotations

import re
import sys

from vma.checks import all_checks

START, END = "<!-- checks-table -->", "<!-- /checks-table -->"



def markdown_table() -> str:
    rows = ["| check | module | what it finds | actions |", "|---|---|---|---|"]
    for spec in all_checks():
        summary = " ".join(spec.doc.strip().split("\n\n", 1)[0].split())
        finds = summary.split(":", 1)[1].strip() if ":" in summary else summary
        actions = ", ".join(spec.actions)
        module = spec.module.rsplit(".", 1)[-1]
        rows.append(f"| `{spec.id}` | `{module}` | {finds.replace('|', chr(92) + '|')} | {actions} |")
    return "\n".join(rows)


def readme_block() -> str:
    return f"{START}\n{markdown_table()}\n{END}"


def update_readme(path: str) -> None:
    """Replace the README's table (between the markers, or the bare start marker) with the current one."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    pattern = re.compile(re.escape(START) + r"(?:.*?" + re.escape(END) + r")?", re.S)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(pattern.sub(lambda _: readme_block(), text, count=1))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"]:
        update_readme(sys.argv[2] if len(sys.argv) > 2 else "README.md")
    else:
        sys.stdout.write(readme_block() + "\n")
