"""The people the bot knows (``VMA_PROVIDER_DIRECTORY``, contract section 3).

A CSV with the header ``npi,name,email,slack_user_id,supervisor_slack_user_id,role``
(more columns may follow, such as ``delegate_slack_user_ids``) or a JSON list of
objects with those keys. Roles: ``provider`` (the default when empty),
``delegate``, ``coder``, ``manager``, ``admin``; staff rows have no NPI.
Without a file the directory is empty and providers are found by email.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

ROLES = ("provider", "delegate", "coder", "manager", "admin")
STAFF_WHO_SEE_EVERY_CHART = ("coder", "manager", "admin")
REQUIRED_COLUMNS = ("npi", "name", "email", "slack_user_id", "supervisor_slack_user_id", "role")
_LIST_SPLIT = re.compile(r"[\s,;|]+")


@dataclass
class Person:
    npi: str | None
    name: str | None
    email: str | None
    slack_user_id: str | None
    supervisor_slack_user_id: str | None
    role: str = "provider"
    delegates: list[str] = field(default_factory=list)


def _text(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _person(row: dict, where: str) -> Person:
    role = (_text(row.get("role")) or "provider").lower()
    if role not in ROLES:
        raise ValueError(f"{where}: field 'role' is {role!r}; expected one of {', '.join(ROLES)}")
    raw_delegates = row.get("delegate_slack_user_ids")
    if isinstance(raw_delegates, list):
        delegates = [d for d in (_text(v) for v in raw_delegates) if d]
    elif raw_delegates is None:
        delegates = []
    else:
        delegates = [d for d in _LIST_SPLIT.split(str(raw_delegates)) if d]
    npi = _text(row.get("npi"))
    if role == "provider" and not npi and not _text(row.get("slack_user_id")):
        raise ValueError(f"{where}: a provider needs field 'npi' or 'slack_user_id'")
    return Person(npi=npi, name=_text(row.get("name")), email=(_text(row.get("email")) or "").lower() or None,
                  slack_user_id=_text(row.get("slack_user_id")),
                  supervisor_slack_user_id=_text(row.get("supervisor_slack_user_id")), role=role,
                  delegates=delegates)


class Directory:
    def __init__(self, people: list[Person] | None = None):
        self.people = list(people or [])
        self._by_npi = {p.npi: p for p in self.people if p.npi}
        self._by_user = {p.slack_user_id: p for p in self.people if p.slack_user_id}
        self._by_email = {p.email: p for p in self.people if p.email}

    # -- loading -------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path | None) -> "Directory":
        """Read the directory file; ``None`` gives an empty directory. Errors name the file, row and field."""
        if path is None or str(path).strip() == "":
            return cls()
        file = Path(path).expanduser()
        if not file.is_file():
            raise ValueError(f"VMA_PROVIDER_DIRECTORY: no such file: {file}")
        try:
            text = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"VMA_PROVIDER_DIRECTORY: cannot read {file}: {exc}") from None
        if file.suffix.lower() == ".json" or text.lstrip().startswith("["):
            return cls.from_json(text, str(file))
        return cls.from_csv(text, str(file))

    @classmethod
    def from_csv(cls, text: str, name: str = "directory") -> "Directory":
        reader = csv.DictReader(io.StringIO(text))
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise ValueError(f"{name}: header lacks column(s) {', '.join(missing)}")
        reader.fieldnames = header
        people = []
        for line, row in enumerate(reader, start=2):
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue
            people.append(_person(row, f"{name} line {line}"))
        return cls(people)

    @classmethod
    def from_json(cls, text: str, name: str = "directory") -> "Directory":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{name}: invalid JSON: {exc.msg} at line {exc.lineno}") from None
        if not isinstance(data, list):
            raise ValueError(f"{name}: expected a JSON list of people")
        people = []
        for index, row in enumerate(data):
            if not isinstance(row, dict):
                raise ValueError(f"{name} item {index}: expected an object")
            people.append(_person({k.lower(): v for k, v in row.items()}, f"{name} item {index}"))
        return cls(people)

    # -- lookups -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.people)

    def by_npi(self, npi: str | None) -> Person | None:
        return self._by_npi.get(npi) if npi else None

    def by_user(self, user_id: str | None) -> Person | None:
        return self._by_user.get(user_id) if user_id else None

    def by_email(self, email: str | None) -> Person | None:
        return self._by_email.get(email.strip().lower()) if email else None

    def role_of(self, user_id: str | None) -> str | None:
        person = self.by_user(user_id)
        return person.role if person else None

    def is_member(self, user_id: str | None) -> bool:
        return self.by_user(user_id) is not None

    def delegates_of(self, provider_npi: str | None) -> list[str]:
        person = self.by_npi(provider_npi)
        return list(person.delegates) if person else []

    def providers_for(self, user_id: str | None) -> list[Person]:
        """The providers this user answers for: themself and whoever lists them as a delegate."""
        if not user_id:
            return []
        return [p for p in self.people if p.npi and (p.slack_user_id == user_id or user_id in p.delegates)]

    def may_answer(self, user_id: str | None, provider_npi: str | None) -> bool:
        provider = self.by_npi(provider_npi)
        if provider is None or not user_id:
            return False
        return user_id == provider.slack_user_id or user_id in provider.delegates

    def may_view(self, user_id: str | None, provider_npi: str | None) -> bool:
        if self.role_of(user_id) in STAFF_WHO_SEE_EVERY_CHART:
            return True
        return self.may_answer(user_id, provider_npi)
