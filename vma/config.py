"""Configuration (contract section 3): environment variables, or a ``vma.toml``.

The environment wins over the file. ``vma.toml`` is read from the working
directory or from ``VMA_CONFIG``; keys are the variable names, in any case
(``VMA_DATABASE_URL = "..."`` or ``vma_database_url = "..."``).
"""

from __future__ import annotations

import os
import re
from datetime import time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.I)
_ISO = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$",
    re.I,
)


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """``90s``, ``4h``, ``2d``, ``1w``, a bare number of seconds, or ISO 8601 (``PT4H``, ``P2D``)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)):
        return timedelta(seconds=value)
    text = str(value).strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return timedelta(seconds=float(text))
    m = _DURATION.match(text)
    if m:
        n, unit = float(m.group(1)), m.group(2).lower()
        return timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[unit]: n})
    m = _ISO.match(text)
    if m and any(m.groupdict().values()):
        g = {k: float(v) if v else 0.0 for k, v in m.groupdict().items()}
        return timedelta(weeks=g["w"], days=g["d"], hours=g["h"], minutes=g["m"], seconds=g["s"])
    raise ValueError(f"not a duration: {value!r} (use 90s, 4h, 2d or ISO 8601 such as PT4H)")


MIN_TOKEN_LENGTH = 16
_SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,59}$")


class IntakeToken:
    """One accepted bearer token and the source name the audit log records for what it sends."""

    __slots__ = ("source", "token")

    def __init__(self, source: str, token: str):
        self.source = source
        self.token = token

    def __repr__(self) -> str:  # never the token itself
        return f"IntakeToken(source={self.source!r})"


def parse_intake_tokens(value: str | None) -> list[IntakeToken]:
    """``VMA_INTAKE_TOKENS``: comma-separated tokens, each optionally ``source:token``.

    A token without a name is recorded as ``token-N`` (its position). Tokens shorter than 16
    characters are refused: a bearer token is the whole of the intake's protection.
    """
    tokens: list[IntakeToken] = []
    for position, entry in enumerate((value or "").split(","), 1):
        entry = entry.strip()
        if not entry:
            continue
        name, sep, secret = entry.partition(":")
        if not (sep and _SOURCE_NAME.match(name.strip()) and secret.strip()):
            name, secret = f"token-{position}", entry
        name, secret = name.strip(), secret.strip()
        if len(secret) < MIN_TOKEN_LENGTH or not secret.isascii() or not secret.isprintable() or " " in secret:
            raise ValueError(f"VMA_INTAKE_TOKENS: the token of source {name!r} must be at least {MIN_TOKEN_LENGTH} "
                             "printable ASCII characters without spaces (e.g. from `python -c 'import secrets; "
                             "print(secrets.token_urlsafe(32))'`)")
        if any(t.token == secret for t in tokens):
            raise ValueError(f"VMA_INTAKE_TOKENS: source {name!r} repeats another source's token")
        tokens.append(IntakeToken(name, secret))
    return tokens


_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*(?:\.\d+)?)\s*([a-z]+)\s*$", re.I)
_RATE_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


def parse_rate_limit(value: str | None) -> tuple[int, float] | None:
    """``VMA_INTAKE_RATE_LIMIT``: ``N/period`` (``3000/min``, ``50/s``, ``100/10s``): at most N requests per
    source in any such period, in bursts of up to N. ``off`` (or 0) turns the limit off. Returns
    (N, period in seconds) or None."""
    text = str(value or "").strip().lower()
    if text in ("", "0", "off", "none", "unlimited"):
        return None
    m = _RATE.match(text)
    unit = m and _RATE_UNITS.get(m.group(3).rstrip("s") if m.group(3) not in _RATE_UNITS else m.group(3))
    if not m or not unit or int(m.group(1)) <= 0:
        raise ValueError(f"VMA_INTAKE_RATE_LIMIT: {value!r} is not N/period (e.g. 3000/min, 50/s) or 'off'")
    period = float(m.group(2) or 1) * unit
    if period <= 0:
        raise ValueError(f"VMA_INTAKE_RATE_LIMIT: {value!r} has an empty period")
    return int(m.group(1)), period


def parse_peer_allow_list(value: str | None) -> list | None:
    """``VMA_MLLP_ALLOW``: comma-separated addresses or CIDR ranges; None (unset) allows every peer."""
    import ipaddress

    if value is None or not str(value).strip():
        return None
    networks = []
    for entry in str(value).split(","):
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"VMA_MLLP_ALLOW: {entry!r} is not an IP address or CIDR range") from None
    return networks


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="",
        case_sensitive=False,
        extra="ignore",
    )

    slack_bot_token: str | None = Field(default=None, repr=False)  # secrets stay out of reprs and logs
    slack_signing_secret: str | None = Field(default=None, repr=False)
    slack_app_token: str | None = Field(default=None, repr=False)
    slack_api_url: str = "https://slack.com/api/"

    vma_database_url: str = "sqlite:///vma.db"
    vma_coder_channel: str | None = None
    vma_manager_channel: str | None = None
    vma_provider_directory: str | None = None
    vma_checkchart_usergroup: str | None = None

    vma_reminder_after: timedelta = Field(default=timedelta(hours=4))
    vma_escalate_after: timedelta = Field(default=timedelta(hours=48))
    vma_business_hours: str = "Mon-Fri 08:00-18:00"
    vma_timezone: str = "America/New_York"
    vma_digest_at: time = time(8, 0)
    vma_phi_mode: str = "minimal"
    vma_retention_days: int | None = None

    vma_icd10cm_xml: str | None = None
    vma_cpt_file: str | None = None
    vma_hcpcs_file: str | None = None
    vma_ncci_ptp_files: str | None = None
    vma_mue_file: str | None = None
    vma_poa_exempt_file: str | None = None  # CMS POAexemptCodes<year>.txt; replaces the bundled ranges

    vma_inbox: str | None = None
    # Contract section 7: payer rule packs (a folder of YAML, vma.rules), and where answered queries
    # are written back to the EHR (vma.integrations.ehr): MLLP host:port and/or a FHIR base URL.
    vma_rules_dir: str | None = None
    vma_ehr_mllp: str | None = None
    vma_ehr_fhir_url: str | None = None
    vma_ehr_fhir_token: str | None = Field(default=None, repr=False)
    vma_hl7_fields: str | None = None  # JSON object overriding HL7 field positions

    # Intake security (README "Intake security"): bearer tokens for POST /charts and /fhir, each
    # optionally "source:token"; a per-source rate limit; the peers allowed to send HL7 over MLLP.
    # Checked by ``vma serve`` at start-up (``parse_intake_tokens``), not here: a validation error
    # would print the value, and the value is a secret.
    vma_intake_tokens: str | None = Field(default=None, repr=False)
    vma_intake_rate_limit: str = "3000/min"
    vma_mllp_allow: str | None = None
    # Worker liveness (vma.store.workers): how often a running worker says it lives, and after how
    # long without a heartbeat its claims are taken over (a crash on this host or on PostgreSQL is
    # seen at once; this is for a host that vanished or a process that hangs).
    vma_heartbeat_every: timedelta = Field(default=timedelta(seconds=5))
    vma_worker_stale_after: timedelta = Field(default=timedelta(seconds=30))

    @field_validator("vma_heartbeat_every", "vma_worker_stale_after", mode="before")
    @classmethod
    def _liveness_duration(cls, v: Any) -> timedelta:
        value = parse_duration(v)
        if value <= timedelta(0):
            raise ValueError("VMA_HEARTBEAT_EVERY and VMA_WORKER_STALE_AFTER must be positive durations")
        return value

    @field_validator("vma_ehr_mllp")
    @classmethod
    def _ehr_mllp(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        host, sep, port = v.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"must be host:port (the EHR's MLLP listener), not {v!r}")
        return v.strip()

    @field_validator("vma_ehr_fhir_url")
    @classmethod
    def _ehr_fhir(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        if not v.strip().lower().startswith(("http://", "https://")):
            raise ValueError(f"must be the FHIR base URL (http:// or https://), not {v!r}")
        return v.strip()

    @field_validator("vma_intake_rate_limit")
    @classmethod
    def _rate(cls, v: str) -> str:
        parse_rate_limit(v)
        return v

    @field_validator("vma_mllp_allow")
    @classmethod
    def _allow(cls, v: str | None) -> str | None:
        parse_peer_allow_list(v)
        return v

    # Closed days for business time: a `holidays` country or subdivision, and/or ":path" of closed dates.
    vma_holidays: str | None = None
    vma_log_format: str = "text"  # text | json (one JSON object per line, for log shippers)
    vma_log_level: str = "INFO"

    @field_validator("vma_reminder_after", "vma_escalate_after", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> timedelta:
        return parse_duration(v)

    @field_validator("vma_digest_at", mode="before")
    @classmethod
    def _clock(cls, v: Any) -> Any:
        if isinstance(v, str) and re.fullmatch(r"\d{1,2}:\d{2}", v.strip()):
            h, m = v.strip().split(":")
            return time(int(h), int(m))
        return v

    @field_validator("vma_phi_mode")
    @classmethod
    def _phi(cls, v: str) -> str:
        v = v.strip().lower()
        if v not in ("minimal", "full"):
            raise ValueError("VMA_PHI_MODE is 'minimal' or 'full'")
        return v

    @field_validator("vma_holidays")
    @classmethod
    def _holidays(cls, v: str | None) -> str | None:
        if v is None or not str(v).strip():
            return None
        from vma.conversations.businesstime import ClosedDays

        ClosedDays.parse(v)  # an unknown calendar or an unreadable file fails at start-up, not in a tick
        return str(v).strip()

    @field_validator("vma_log_format")
    @classmethod
    def _log_format(cls, v: str) -> str:
        v = str(v).strip().lower()
        if v not in ("text", "json"):
            raise ValueError("VMA_LOG_FORMAT is 'text' or 'json'")
        return v

    @field_validator("vma_log_level")
    @classmethod
    def _log_level(cls, v: str) -> str:
        v = str(v).strip().upper()
        if v not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("VMA_LOG_LEVEL is DEBUG, INFO, WARNING or ERROR")
        return v

    @field_validator("slack_api_url")
    @classmethod
    def _slash(cls, v: str) -> str:
        return v if v.endswith("/") else v + "/"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = Path(os.environ.get("VMA_CONFIG", "vma.toml"))
        if toml_path.is_file():
            sources.append(_LowerKeysToml(settings_cls, toml_path))
        return tuple(sources)

    @property
    def phi_minimal(self) -> bool:
        return self.vma_phi_mode == "minimal"

    @property
    def intake_tokens(self) -> list["IntakeToken"]:
        return parse_intake_tokens(self.vma_intake_tokens)

    @property
    def intake_rate_limit(self) -> tuple[int, float] | None:
        return parse_rate_limit(self.vma_intake_rate_limit)

    @property
    def mllp_allow(self) -> list | None:
        return parse_peer_allow_list(self.vma_mllp_allow)


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the file or variable and the key."""


class _LowerKeysToml(TomlConfigSettingsSource):
    """vma.toml keys may be written as the upper-case variable names.

    Remembers the file and each key as written, so an error can name them, and the keys no
    setting has (a typo would otherwise be ignored without a word).
    """

    def __init__(self, settings_cls: type[BaseSettings], path: Path):
        try:
            super().__init__(settings_cls, toml_file=path)
        except ValueError as exc:  # tomllib.TOMLDecodeError: the message has the line and column
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        self.path = path
        self.written = {k.lower(): k for k in self.toml_data}
        self.toml_data = {k.lower(): v for k, v in self.toml_data.items()}
        self.init_kwargs = self.toml_data
        known = set(settings_cls.model_fields) | {"vma_config"}
        self.unknown = sorted(self.written[k] for k in self.toml_data if k not in known)
        _TOML_SEEN.append(self)


_TOML_SEEN: list[_LowerKeysToml] = []


def _source_of(key: str) -> str:
    """Where a setting's value came from, for an error message: the variable or the file and key."""
    if key.upper() in os.environ or key in os.environ or key.lower() in {k.lower() for k in os.environ}:
        return f"environment variable {key.upper()}"
    for toml in reversed(_TOML_SEEN):
        if key in toml.toml_data:
            return f"{toml.path}: key {toml.written[key]}"
    return key.upper()


def load_settings(**values: Any) -> Settings:
    """``Settings(**values)``, with errors that name the file or variable and the key.

    Unknown keys of ``vma.toml`` are reported on stderr (they are ignored, not fatal: a key
    of a newer version must not stop an older one).
    """
    import sys

    from pydantic import ValidationError

    _TOML_SEEN.clear()
    try:
        settings = Settings(**values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = str(error["loc"][0]) if error.get("loc") else "?"
            message = str(error.get("msg", "invalid")).removeprefix("Value error, ").removeprefix(f"{key.upper()}: ")
            problems.append(f"{_source_of(key)}: {message}")
        raise ConfigError("; ".join(problems)) from None
    finally:
        seen, _TOML_SEEN[:] = list(_TOML_SEEN), []
    for toml in seen:
        if toml.unknown:
            import difflib

            for key in toml.unknown:
                close = difflib.get_close_matches(key.lower(), list(Settings.model_fields), n=1)
                hint = f" (did you mean {close[0].upper()}?)" if close else ""
                print(f"vma: {toml.path}: unknown key {key} ignored{hint}", file=sys.stderr)
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
