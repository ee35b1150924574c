import json

import pytest

from vma.integrations.slack.blocks import BlockKitError, validate_blocks, validate_message, validate_view
from vma.integrations.slack.render import label, render_blocks, render_view

from tests.slack import views


def _elements(blocks):
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_query_dm_has_one_button_per_option_with_query_and_option_in_the_value():
    q = views.knee_query(query_id=11)
    blocks = render_blocks("query_dm.json.j2", summary=views.summary(), queries=[q], max_queries=15,
                           withdrawn_reason=None)
    buttons = _elements(blocks)
    assert [b["text"]["text"] for b in buttons] == [o.label for o in q.options]
    assert [b["value"] for b in buttons] == [f"11:{o.index}" for o in q.options]
    assert buttons[3]["action_id"].startswith("vma_other_")  # opens the free-text modal
    assert all(b["action_id"].startswith("vma_answer_") for i, b in enumerate(buttons) if i != 3)
    text = json.dumps(blocks)
    assert "ENC-T-1" in text and "***7120" in text and "2026-11-19" in text
    # mrkdwn control characters from the note are escaped, not interpreted
    assert "&lt;3 weeks&gt; &amp; swelling" in text


def test_more_than_five_options_become_a_select_beside_the_escape_buttons():
    q = views.many_option_query(n=9)
    blocks = render_blocks("query_dm.json.j2", summary=views.summary(), queries=[q], max_queries=15,
                           withdrawn_reason=None)
    elements = _elements(blocks)
    assert elements[0]["type"] == "static_select" and len(elements[0]["options"]) == 9
    assert [e["text"]["text"] for e in elements[1:]] == ["Other", "Clinically undetermined"]


def test_long_labels_are_cut_to_75_characters_keeping_the_code():
    q = views.many_option_query(n=3, label_length=140)
    blocks = render_blocks("query_dm.json.j2", summary=views.summary(), queries=[q], max_queries=15,
                           withdrawn_reason=None)
    texts = [e["text"]["text"] for e in _elements(blocks)]
    assert all(len(t) <= 75 for t in texts)
    assert texts[0].endswith("(S82.01XA)")
    assert label("x" * 100 + " (M25.562)").endswith("… (M25.562)")


def test_sibling_labels_keep_the_words_that_tell_them_apart():
    # 7th-character siblings differ only in their last words: a plain cut at 75 characters would
    # leave three identical buttons; the shared words are cut instead.
    from vma.integrations.slack.render import short_labels
    from vma.conversations.ports import OptionView, QueryView

    labels = ["Strain of muscle, fascia and tendon at neck level, initial encounter (S16.1XXA)",
              "Strain of muscle, fascia and tendon at neck level, subsequent encounter (S16.1XXD)",
              "Strain of muscle, fascia and tendon at neck level, sequela (S16.1XXS)"]
    q = QueryView(query_id=5, chart_id="ENC-T-1", check="seventh-character", code="S16.1",
                  question="Which of the following describes this encounter for the neck strain?", evidence="",
                  options=[OptionView(i, t) for i, t in enumerate(labels)]
                  + [OptionView(3, "Other", "other"), OptionView(4, "Clinically undetermined", "undetermined")])
    blocks = render_blocks("query_dm.json.j2", summary=views.summary(), queries=[q], max_queries=15,
                           withdrawn_reason=None)
    texts = [e["text"]["text"] for e in _elements(blocks)][:3]
    assert all(len(t) <= 75 for t in texts) and len(set(texts)) == 3
    for text, words, code in zip(texts, ("initial encounter", "subsequent encounter", "sequela"),
                                 ("(S16.1XXA)", "(S16.1XXD)", "(S16.1XXS)")):
        assert text.startswith("Strain of muscle") and words in text and text.endswith(code)
    # nonessential modifiers go before any wording does (Guideline I.A.7)
    long = "Acute on chronic combined systolic (congestive) and diastolic (congestive) heart failure (I50.43)"
    assert short_labels([long, "Acute on chronic diastolic (congestive) heart failure (I50.33)"])[0] == \
        "Acute on chronic combined systolic and diastolic heart failure (I50.43)"
    assert short_labels(["Pain in left knee (M25.562)"]) == ["Pain in left knee (M25.562)"]


def test_answered_query_shows_the_answer_and_no_buttons():
    q = views.knee_query()
    q.status, q.answer_label, q.answered_by = "answered", "Pain in left knee (M25.562)", "U_LOPEZ"
    blocks = render_blocks("query_dm.json.j2", summary=views.summary(), queries=[q], max_queries=15,
                           withdrawn_reason=None)
    assert _elements(blocks) == []
    assert "Answered by <@U_LOPEZ>: *Pain in left knee (M25.562)*" in json.dumps(blocks)


def test_many_queries_stay_under_fifty_blocks():
    queries = [views.knee_query(query_id=i) for i in range(40)]
    blocks = render_blocks("query_dm.json.j2", summary=views.summary(), queries=queries, max_queries=15,
                           withdrawn_reason=None)
    assert len(blocks) <= 50
    assert "25 more question(s)" in json.dumps(blocks)


def test_cleared_chart_marks_suggestions_for_the_coder_and_shows_no_note_text():
    blocks = render_blocks("cleared.json.j2", cleared=views.cleared())
    text = json.dumps(blocks)
    assert "`M25.562` Pain in left knee" in text
    assert "coder to confirm" in text
    assert "2 h 5 min" in text
    assert "swelling" not in text  # evidence never reaches a channel


def test_cleared_chart_names_the_primary_coverage_and_leaves_it_out_when_unknown():
    assert "coverage Acme Health (60054) · PPO" in json.dumps(render_blocks("cleared.json.j2", cleared=views.cleared()),
                                                            ensure_ascii=False)
    assert "coverage" not in json.dumps(render_blocks("cleared.json.j2", cleared=views.cleared(payer=None)))


def test_payer_label_from_the_chart_coverage():
    from vma.conversations.views import payer_label

    assert payer_label({"coverage": {"payer_id": "60054", "payer_name": "Acme Health", "plan": "PPO"}}) \
        == "Acme Health (60054) · PPO"
    assert payer_label({"coverage": {"payer_id": "60054"}}) == "60054"
    assert payer_label({"coverage": None}) is None and payer_label({}) is None


def test_home_and_modals_are_valid_views():
    home = render_view("home.json.j2", home=views.home())
    assert home["type"] == "home"
    assert any(e["value"] == "11:1" for e in _elements(home["blocks"]))
    modal = render_view("other_modal.json.j2", query_id=11, option_index=3, chart_id="ENC-T-1",
                        question="Which knee?")
    assert modal["callback_id"] == "vma_other" and modal["private_metadata"] == "11:3"


def test_validator_catches_what_slack_refuses():
    assert validate_blocks([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}])
    assert validate_blocks([{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}])
    assert validate_blocks([{"type": "divider"}] * 51)
    assert validate_blocks([{"type": "divider"}] * 100, "modal") == []
    assert validate_blocks([{"type": "nonsense"}])
    button = {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "x" * 76}}
    assert validate_blocks([{"type": "actions", "elements": [button]}])
    same = {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "ok"}}
    assert any("repeats" in p for p in validate_blocks([{"type": "actions", "elements": [same, same]}]))
    assert validate_message(None, None) == ["message needs text or blocks"]
    assert validate_view({"type": "modal", "blocks": [{"type": "divider"}]})  # no title
    assert validate_view({"type": "popup"})


def test_render_refuses_invalid_blocks():
    q = views.knee_query()
    q.options = [q.options[0]] * 2  # same action id twice
    with pytest.raises(BlockKitError):
        render_blocks("query_dm.json.j2", summary=views.summary(), queries=[q], max_queries=15,
                      withdrawn_reason=None)
