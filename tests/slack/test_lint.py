import pytest

from vma.conversations.lint import lint_query, lint_text
from vma.integrations.slack.render import render_json, template_names

from tests.conftest import SPEC_EXAMPLES
from tests.slack import views

GOOD_OPTIONS = ["Pain in right knee (M25.561)", "Pain in left knee (M25.562)", "Other", "Clinically undetermined"]


def test_compliant_query_passes():
    assert lint_query("The note documents knee pain. Which knee is affected?", GOOD_OPTIONS, "laterality") == []


@pytest.mark.parametrize("question", [
    "The left knee should be coded. Which knee is affected?",
    "Please document the laterality. Which knee?",
    "Consider documenting acute bronchitis?",
    "Was it not the left knee?",
])
def test_leading_words_are_flagged(question):
    problems = lint_query(question, GOOD_OPTIONS, "laterality")
    assert any("leading phrase" in p for p in problems), problems


@pytest.mark.parametrize("question", [
    "Documenting the stage raises the DRG. Which stage?",
    "Which acuity? This affects reimbursement.",
    "Which stage supports the higher payment?",
    "Which side? ($120 difference)",
])
def test_money_words_are_flagged(question):
    assert any("money" in p for p in lint_query(question, GOOD_OPTIONS, "specificity"))


def test_escape_answers_are_required():
    problems = lint_query("Which knee?", GOOD_OPTIONS[:2], "laterality")
    assert "options lack 'Other'" in problems
    assert "options lack 'Clinically undetermined'" in problems


def test_yes_no_only_for_poa_and_signature():
    yes_no = ["Yes", "No", "Other", "Clinically undetermined"]
    assert any("yes/no" in p for p in lint_query("Is the knee the left one?", yes_no, "laterality"))
    assert lint_query("Was the condition present at the time of admission?", yes_no, "poa") == []
    assert lint_query("Did you author and sign this note?", yes_no, "unsigned") == []
    named = ["Present at the time of inpatient admission (POA Y)", "Other", "Clinically undetermined (POA W)"]
    assert lint_query("Was it present when admission was ordered?", named, "poa") == []


def test_not_a_question_and_empty_options():
    problems = lint_query("Document the side.", ["Other", "Clinically undetermined"], "laterality")
    assert any("no question mark" in p for p in problems)
    assert any("no clinical option" in p for p in problems)
    assert "question is empty" in lint_query("", GOOD_OPTIONS, "laterality")


def test_lint_text_does_not_flag_clinical_words():
    assert lint_text("Pain in left knee; patient paid attention? no") == ["money or payment word 'paid'"]
    assert lint_text("Acute on chronic diastolic heart failure") == []


def _visible_text(node) -> list[str]:
    """Every text a person sees in rendered Block Kit (text fields of text objects)."""
    found = []
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
            found.append(node["text"])
        for value in node.values():
            found.extend(_visible_text(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_visible_text(value))
    return found


TEMPLATE_CONTEXTS = {
    "query_dm.json.j2": dict(summary=views.summary(), queries=[views.knee_query(), views.many_option_query()],
                             max_queries=15, withdrawn_reason=None),
    "cleared.json.j2": dict(cleared=views.cleared()),
    "check_failed.json.j2": dict(chart_id="ENC-T-1", version=1, checks=["laterality"]),
    "ehr_held.json.j2": dict(chart_id="ENC-T-1", version=1, document_id="DOC-T-1-CDIQ-1",
                             target="MLLP 10.0.0.5:2575", outcome="AE"),
    "unroutable.json.j2": dict(summary=views.summary(), queries=[views.knee_query()], reason="no Slack user"),
    "reminder.json.j2": dict(items=views.reminder_items()),
    "escalation.json.j2": dict(items=views.reminder_items(), provider_name="Maria Lopez, MD"),
    "home.json.j2": dict(home=views.home()),
    "other_modal.json.j2": dict(query_id=11, option_index=3, chart_id="ENC-T-1", question="Which knee is affected?"),
    "checkchart_modal.json.j2": dict(),
    "checkchart_report.json.j2": None,  # built below (needs a ChartReport)
    "checkchart_result.json.j2": None,
}


def _context(name):
    from vma.findings import ChartReport, Finding
    from vma.conversations.ports import CodeLine

    if TEMPLATE_CONTEXTS.get(name) is not None:
        return TEMPLATE_CONTEXTS[name]
    report = ChartReport.from_findings("ENC-T-1", [Finding(
        check="laterality", action="query", code="M25.569", message="Side not given in the code",
        question="Which knee is affected?", options=GOOD_OPTIONS)])
    return dict(summary=views.summary(), report=report, codes=[CodeLine("M25.569", "Pain in unspecified knee")],
                sections=["*Chart ENC-T-1* · status needs_query", "Codes: M25.569 Pain in unspecified knee"])


def test_every_template_is_covered():
    assert set(template_names()) == set(TEMPLATE_CONTEXTS)


@pytest.mark.parametrize("name", sorted(TEMPLATE_CONTEXTS))
def test_every_template_text_is_lint_clean(name):
    rendered = render_json(name, **_context(name))
    problems = [p for text in _visible_text(rendered) for p in lint_text(text)]
    assert problems == [], problems


def _spec_query_findings():
    from vma.checks import run_checks
    from vma.intake import parse_chart

    found = []
    for path in sorted(SPEC_EXAMPLES.glob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        chart, _ = parse_chart(path.read_bytes())
        for finding in run_checks(chart).findings:
            if finding.action == "query":
                found.append((path.name, finding))
    return found


def _demo_query_findings():
    from vma.checks import run_checks
    from vma.intake import parse_chart
    from vma.demo import DEMO_DIR

    found = []
    for path in sorted(DEMO_DIR.glob("ENC-*.json")):
        chart, _ = parse_chart(path.read_bytes())
        found += [(path.name, f) for f in run_checks(chart).findings if f.action == "query"]
    return found


def test_every_query_the_checks_produce_on_the_demo_charts_is_lint_clean():
    findings = _demo_query_findings()
    assert len(findings) >= 4
    for name, finding in findings:
        assert lint_query(finding.question, finding.options, finding.check) == [], (name, finding.check)


@pytest.mark.skipif(not SPEC_EXAMPLES.is_dir(), reason=f"shared spec examples not found at {SPEC_EXAMPLES}")
def test_every_query_the_checks_produce_on_the_spec_examples_is_lint_clean():
    findings = _spec_query_findings()
    assert findings, "the spec examples include charts that need a query"
    for name, finding in findings:
        assert lint_query(finding.question, finding.options, finding.check) == [], (name, finding.check)
