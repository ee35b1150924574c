"""A known week of the query loop, with every number worked out by hand (used by the App Home
and digest tests). Clinic: America/New_York, Mon-Fri 08:00-18:00; now: Wednesday 2026-11-25 12:00.

Open (age in business hours at now):
  Dr Lopez   sent Mon 23 09:00 -> 23 h (under 24 h); sent Fri 20 12:00 -> 30 h (24-48 h)
  Dr Chen    sent Tue 17 12:00 -> 60 h (48-72 h)
  Dr Patel   sent Wed 11 08:00 -> over 72 h; and one query never delivered (not in Slack)
             Dr Patel is in no directory: the name comes from his chart.
Answered (hours from sent to answered; what the answer did):
  this week  Lopez laterality 2 h, a new code (changed); Lopez laterality 24 h, "Clinically
             undetermined"; Chen specificity 4 h, a new code (changed)     -> median 4 h
  last week  Chen laterality 24 h, "Other"                                -> median 24 h
Withdrawn: one Lopez query sent Tue 24 09:00, withdrawn an hour later (out of the response rate).

Response rate: this week 3 answered of 5 sent and not withdrawn = 60%; last week 1 of 2 = 50%.
Query yield (28 days): laterality 1 of 3 (33%), specificity 1 of 1 (100%).
Charts on hold (a chart version with an open query, delivered or not): 5.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 25, 12, tzinfo=NY)
LOPEZ_NPI, CHEN_NPI, PATEL_NPI = "1234567893", "1558598797", "1770000010"
LOPEZ, CHEN, CODER, CHIEF = "U0LOPEZ01", "U0CHEN001", "U0CODER01", "U0CHIEF01"
DIRECTORY_CSV = (
    "npi,name,email,slack_user_id,supervisor_slack_user_id,role\n"
    f"{LOPEZ_NPI},\"Maria Lopez, MD\",mlopez@example.org,{LOPEZ},{CHIEF},provider\n"
    f"{CHEN_NPI},\"Sam Chen, DO\",schen@example.org,{CHEN},{CHIEF},provider\n"
    f",Cora Coder,ccoder@example.org,{CODER},,coder\n"
    f",Pat Chief,pchief@example.org,{CHIEF},,manager\n"
)
PATIENT_NAME = "Quinn Synthetic-Patient"
BIRTH_DATE = "1961-02-03"


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=NY).astimezone(UTC)


def _chart(session, chart_id: str, npi: str, provider_name: str):
    from vma.store.models import ChartRecord

    record = ChartRecord(chart_id=chart_id, version=1, provider_npi=npi, status="needs_query", chart_json={
        "chart_id": chart_id, "patient": {"mrn": "MRN-55501", "name": PATIENT_NAME, "birth_date": BIRTH_DATE},
        "provider": {"npi": npi, "name": provider_name}})
    session.add(record)
    session.flush()
    return record


def _query(session, record, *, check="laterality", code="M25.569", sent=None, status="open", answered=None,
           answer=None, withdrawn=None):
    from vma.store.models import Query

    session.add(Query(chart_record_id=record.id, chart_id=record.chart_id, check=check, code=code,
                      question="Which knee was evaluated?", evidence="knee pain", choices=[], status=status,
                      provider_npi=record.provider_npi, provider_user_id="U0PROVIDR" if sent else None,
                      sent_at=sent, answered_at=answered, answer_json=answer, withdrawn_at=withdrawn,
                      answered_by="U0PROVIDR" if answered else None))


def seed(store) -> None:
    names = {LOPEZ_NPI: "Maria Lopez, MD", CHEN_NPI: "Sam Chen, DO", PATEL_NPI: "Priya Patel, MD"}
    serial = iter(range(1, 100))

    def chart(npi):
        return _chart(session, f"ENC-S{next(serial):02d}", npi, names[npi])

    changed = {"kind": "code", "codes": ["M25.562"], "label": "Pain in left knee (M25.562)"}
    with store.session() as session, session.begin():
        _query(session, chart(LOPEZ_NPI), sent=at(23, 9))
        _query(session, chart(LOPEZ_NPI), sent=at(20, 12))
        _query(session, chart(CHEN_NPI), sent=at(17, 12))
        _query(session, chart(PATEL_NPI), sent=at(11, 8))
        _query(session, chart(PATEL_NPI), sent=None)
        _query(session, chart(LOPEZ_NPI), sent=at(23, 8), status="answered", answered=at(23, 10), answer=changed)
        _query(session, chart(LOPEZ_NPI), sent=at(19, 8), status="answered", answered=at(20, 8),
               answer={"kind": "undetermined", "codes": [], "label": "Clinically undetermined"})
        _query(session, chart(CHEN_NPI), check="specificity", code="E11.9", sent=at(24, 8), status="answered",
               answered=at(24, 12), answer={"kind": "code", "codes": ["E11.42"], "label": "Type 2 ... (E11.42)"})
        _query(session, chart(CHEN_NPI), sent=at(12, 8), status="answered", answered=at(13, 8),
               answer={"kind": "other", "codes": [], "label": "Other", "other_text": "both knees"})
        _query(session, chart(LOPEZ_NPI), sent=at(24, 9), status="withdrawn", withdrawn=at(24, 10))
