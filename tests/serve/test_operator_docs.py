"""The operator's guide and its sample files stay true to the code: every setting is in the sample
vma.toml and the sample loads, the sample directory and closed dates read, the systemd unit's command
line is one `vma serve` accepts, and the guide covers each step from nothing to a running bot."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from vma.cli import build_parser
from vma.config import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
KEY = re.compile(r"^#?\s*([A-Z][A-Z0-9_]+)\s*=", re.M)


def test_the_sample_vma_toml_has_every_setting_and_loads(monkeypatch, capsys):
    sample = DOCS / "vma.toml.example"
    keys = set(KEY.findall(sample.read_text()))
    missing = {name.upper() for name in Settings.model_fields} - keys
    assert not missing, f"settings missing from docs/vma.toml.example: {sorted(missing)}"
    for name in list(__import__("os").environ):
        if name.startswith(("VMA_", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VMA_CONFIG", str(sample))
    settings = load_settings()
    assert settings.vma_coder_channel == "C0123CODERS" and settings.vma_holidays == "US"
    assert settings.vma_database_url == "sqlite:////var/lib/vma/vma.db"
    assert "unknown key" not in capsys.readouterr().err


def test_the_sample_directory_and_closed_dates_read():
    from vma.conversations.businesstime import ClosedDays
    from vma.directory import ROLES, Directory

    directory = Directory.load(DOCS / "directory.example.csv")
    assert {p.role for p in directory.people} == set(ROLES)
    assert directory.may_answer("U0123SCRIBE", "1234567893")  # the delegate
    closed = ClosedDays.parse(f"US:{DOCS / 'closed-dates.example.txt'}")
    assert __import__("datetime").date(2026, 12, 29) in closed


def test_the_systemd_unit_starts_vma_serve_with_flags_it_has():
    unit = (DOCS / "vma.service").read_text()
    command = shlex.split(re.search(r"^ExecStart=(.+)$", unit, re.M).group(1))
    assert command[0].endswith("/vma") and command[1] == "serve"
    args = build_parser().parse_args(command[1:])
    assert (args.host, args.port, args.log_format) == ("127.0.0.1", 3000, "json")
    assert "EnvironmentFile=/etc/vma/vma.env" in unit and "VMA_CONFIG=/etc/vma/vma.toml" in unit


@pytest.mark.parametrize("topic", [
    "Python 3.11", "From an app manifest", "vma slack manifest --url", "--socket-mode", "/invite @vma",
    "Copy member ID", "VMA_PROVIDER_DIRECTORY", "Who may use `/checkchart`", "pip install 'vma[postgres]'",
    "vma.toml.example", "systemctl enable --now vma", "reverse_proxy 127.0.0.1:3000", "proxy_pass",
    "Upgrades", "migrations", "Backups", "pg_dump", ".backup", "--log-format json", "VMA_HOLIDAYS",
])
def test_the_guide_covers(topic):
    assert topic in (DOCS / "operator-guide.md").read_text()


def test_the_guides_commands_parse():
    """Every `vma ...` command in the guide's code blocks is one the CLI accepts."""
    seen, in_block = 0, False
    for raw in (DOCS / "operator-guide.md").read_text().splitlines():
        if raw.strip().startswith("```"):
            in_block = not in_block
            continue
        match = re.search(r"(?:^|/|\s)vma ((?:serve|check|slack|digest|audit|schema)\b.*)$", raw) if in_block else None
        if match:
            build_parser().parse_args(shlex.split(match.group(1).split("#")[0].split(" > ")[0]))
            seen += 1
    assert seen >= 3


def test_the_readme_links_the_guide():
    assert "docs/operator-guide.md" in (ROOT / "README.md").read_text()
