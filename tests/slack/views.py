"""Hand-made domain views for the adapter tests (the domain builds these from the store)."""

from __future__ import annotations

from datetime import timedelta

from vma.conversations.ports import (
    Change,
    ChartSummary,
    ClearedChart,
    CodeLine,
    HomeView,
    OptionView,
    QueryView,
    ReminderItem,
)


def summary(chart_id: str = "ENC-T-1", payer: str | None = None) -> ChartSummary:
    return ChartSummary(chart_id=chart_id, version=1, patient_label="***7120", date_of_service="2026-11-19",
                        provider_name="Maria Lopez, MD", provider_npi="1234567893", setting="office", payer=payer)


def knee_query(query_id: int = 11, chart_id: str = "ENC-T-1") -> QueryView:
    return QueryView(
        query_id=query_id, chart_id=chart_id, check="laterality", code="M25.569",
        question="The note documents knee pain with swelling after a fall. Which knee is affected?",
        evidence='HPI: "knee pain <3 weeks> & swelling"',
        options=[OptionView(0, "Pain in right knee (M25.561)"), OptionView(1, "Pain in left knee (M25.562)"),
                 OptionView(2, "Pain in unspecified knee (M25.569)"), OptionView(3, "Other", "other"),
                 OptionView(4, "Clinically undetermined", "undetermined")])


def many_option_query(query_id: int = 12, n: int = 9, label_length: int = 20) -> QueryView:
    options = [OptionView(i, f"{'Long description ' * (label_length // 17 + 1)}"[:label_length] + f" (S82.{i}1XA)")
               for i in range(n)]
    options += [OptionView(n, "Other", "other"), OptionView(n + 1, "Clinically undetermined", "undetermined")]
    return QueryView(query_id=query_id, chart_id="ENC-T-1", check="seventh-character", code="S82.61",
                     question="Which episode of care does the visit document for the ankle fracture?",
                     evidence="fracture", options=options)


def cleared(chart_id: str = "ENC-T-1", payer: str | None = "Acme Health (60054) · PPO") -> ClearedChart:
    return ClearedChart(
        summary=summary(chart_id, payer),
        codes=[CodeLine("M25.562", "Pain in left knee"), CodeLine("99213", "Office visit, established, low",
                                                                   kind="procedure", pointers=[1])],
        changes=[Change("laterality", "M25.569", ["M25.562"], "answered by Maria Lopez, MD: Pain in left knee",
                        "answer"),
                 Change("acuity", "J40", ["J20.9"], "note documents 'acute bronchitis'", "correction", True)],
        coder_notes=["Other (query 14): patient reports both knees, worse on the left"],
        signed_to_clear=timedelta(hours=2, minutes=5))


def reminder_items() -> list[ReminderItem]:
    q = knee_query()
    q.age_business_hours = 4.5
    return [ReminderItem(query=q, summary=summary())]


def home(role: str = "provider") -> HomeView:
    return HomeView(user_id="U_LOPEZ", role=role, open_queries=[(summary(), [knee_query()])],
                    ready_charts=[cleared("ENC-T-2")], waiting_charts=[(summary("ENC-T-3"), 2)])
