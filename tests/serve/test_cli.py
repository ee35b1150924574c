"""The command line as an operator meets it: --version, the help texts, a folder of charts, and
configuration errors that name the file and the key."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from vma.cli import main

DEMO = Path(__file__).resolve().parents[2] / "vma" / "demo"


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("vma ") and out != "vma "


def test_check_help_lists_the_formats_and_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    out = capsys.readouterr().out
    for text in ("canonical chart JSON", "FHIR R4", "HL7 v2 MDM", "a directory checks", "exit status",
                 "0  every chart is clear", "1  a chart has findings", "2  unreadable or invalid input",
                 "3  a check failed"):
        assert text in out, text


def test_serve_help_shows_the_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: 3000)" in out and "--socket-mode" in out and "--log-format {text,json}" in out
    assert "--host HOST address to listen on (default:" in out


def test_serve_reads_the_icd_index_before_it_listens(monkeypatch):
    # After an install or an upgrade the index is compiled on its first read (seconds): at start, not on the
    # first chart or /checkchart.
    import vma.reference
    import vma.web
    from vma import cli

    steps: list[str] = []
    logged: list[tuple[str, dict]] = []
    real = vma.reference.default_reference

    class Reference:
        @property
        def icd_catalog(self):
            steps.append("index read")
            return real().icd_catalog

    monkeypatch.setattr(cli, "_rule_problems", lambda: None)
    monkeypatch.setattr(vma.web, "serve", lambda **kwargs: steps.append("listening") or 0)
    monkeypatch.setattr(vma.reference, "default_reference", Reference)
    monkeypatch.setattr("vma.logging_setup.configure", lambda *args, **kwargs: None)
    monkeypatch.setattr("vma.logging_setup.log_event", lambda event, **fields: logged.append((event, fields)))
    assert main(["serve", "--port", "0"]) == 0
    assert steps == ["index read", "listening"]
    loaded = [fields for event, fields in logged if event == "icd_index_loaded"]
    assert len(loaded) == 1 and loaded[0]["releases"] == len(real().icd_catalog.releases) >= 1


def test_check_a_directory_of_charts(tmp_path, capsys):
    for name in ("ENC-D2001", "ENC-D2002"):
        shutil.copy(DEMO / f"{name}.json", tmp_path / f"{name}.json")
    (tmp_path / "README.md").write_text("not a chart")  # other files in the folder are left alone
    (tmp_path / ".hidden.json").write_text("{")
    assert main(["check", "--json", str(tmp_path)]) == 1  # ENC-D2002 has a laterality query
    reports = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["chart_id"], r["status"]) for r in reports] == [("ENC-D2001", "clear"), ("ENC-D2002", "needs_query")]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["check", str(empty)]) == 2
    assert "no chart files" in capsys.readouterr().err


def test_a_bad_vma_toml_names_the_file_and_the_key(tmp_path, monkeypatch, capsys):
    from vma.config import get_settings

    for name in list(__import__("os").environ):
        if name.startswith(("VMA_", "SLACK_")):
            monkeypatch.delenv(name)
    config = tmp_path / "clinic.toml"
    monkeypatch.setenv("VMA_CONFIG", str(config))
    get_settings.cache_clear()
    try:
        config.write_text('VMA_REMINDER_AFTER = "soon"\n')
        assert main(["digest", "--print"]) == 2
        err = capsys.readouterr().err
        assert f"{config}: key VMA_REMINDER_AFTER: not a duration: 'soon'" in err

        get_settings.cache_clear()
        config.write_text("VMA_REMINDER_AFTER = 4h\n")
        assert main(["digest", "--print"]) == 2
        assert f"{config}: not valid TOML" in capsys.readouterr().err

        get_settings.cache_clear()
        config.write_text(f'VMA_DATABASE_URL = "sqlite:///{tmp_path / "vma.db"}"\nVMA_DIGEST_ATT = "07:00"\n')
        assert main(["digest", "--print"]) == 0
        captured = capsys.readouterr()
        assert "Query-aging digest" in captured.out
        assert f"{config}: unknown key VMA_DIGEST_ATT ignored (did you mean VMA_DIGEST_AT?)" in captured.err
    finally:
        get_settings.cache_clear()
