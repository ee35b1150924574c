"""Renders the Slack messages from the JSON Jinja2 templates in ``templates/``.

Templates produce Block Kit JSON; values go in through the ``j`` filter (JSON
string escaping) after ``esc`` (Slack mrkdwn escaping) and a length cut, so a
note quote with quotes, ``<`` or a thousand characters cannot break the JSON
or the Block Kit limits. Every rendered message is validated before it leaves.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, is_dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from vma.integrations.slack.blocks import BlockKitError, validate_blocks, validate_view
from vma.templates_dir import template_dir

_CODE_SUFFIX = re.compile(r"\s*(\([A-Z0-9.\-]{3,10}\))\s*$")


def esc(value: Any) -> str:
    """Slack's three control characters in mrkdwn and plain text."""
    return str("" if value is None else value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(value: Any, limit: int) -> str:
    text = str("" if value is None else value)
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def label(value: Any, limit: int = 75) -> str:
    """Cuts an option label to ``limit`` but keeps the code it names: "Long descr… (S82.61XA)"."""
    text = str(value or "").strip()
    if len(text) <= limit:
        return text
    m = _CODE_SUFFIX.search(text)
    if not m:
        return cut(text, limit)
    suffix = " " + m.group(1)
    return cut(text[: m.start()], limit - len(suffix)) + suffix


_NONESSENTIAL = re.compile(r"\s*\((?:[a-z][a-z ,-]*)\)(?=\W)")


def short_labels(labels: list[str], limit: int = 75) -> list[str]:
    """The option labels of one question, each within ``limit``, cut where the options agree.

    Sibling codes differ in their last words ("..., initial encounter" / "..., subsequent
    encounter"), so a plain cut at the end would leave identical buttons. Long labels lose
    their nonessential modifiers first ("(congestive)", Guideline I.A.7), then the words all
    the options share, never the words that tell them apart, nor the code.
    """
    parts = []
    for text in labels:
        text = str(text or "").strip()
        m = _CODE_SUFFIX.search(text)
        parts.append((text[: m.start()], " " + m.group(1)) if m else (text, ""))
    coded = [body for body, code in parts if code]
    common = _common_words_prefix(coded) if len(coded) > 1 else ""
    out = []
    for body, code in parts:
        text = body + code
        if len(text) > limit:
            body = _NONESSENTIAL.sub("", body)
            text = body + code
        if len(text) > limit and common and body.startswith(common):
            tail = body[len(common):]
            room = limit - len(code) - len(tail) - 2
            if room >= 12:
                head = common[:room].rsplit(" ", 1)[0].rstrip(" ,")
                text = f"{head}… {tail}{code}"
        out.append(text if len(text) <= limit else label(text, limit))
    return out


def _common_words_prefix(texts: list[str]) -> str:
    """The longest run of whole words every text starts with."""
    first = texts[0]
    n = 0
    while n < len(first) and all(len(t) > n and t[n] == first[n] for t in texts):
        n += 1
    prefix = first[:n]
    return prefix if n == len(first) or first[n - 1] == " " else prefix[: prefix.rfind(" ") + 1]


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def duration(value: timedelta | None) -> str:
    if value is None:
        return "unknown"
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def hours(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.1f} business h"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(template_dir())), undefined=StrictUndefined,
                      autoescape=False, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)
    from vma.conversations.digest import _hours as digest_hours
    from vma.conversations.digest import _share as digest_share

    env.filters.update(j=to_json, esc=esc, cut=cut, label=label, short_labels=short_labels, duration=duration,
                       hours=hours, dhours=digest_hours, share=digest_share)  # dhours, share: as the digest writes them
    return env


def template_names() -> list[str]:
    """Every Block Kit template (the digest's plain-text template is not Block Kit)."""
    return sorted(p.name for p in template_dir().glob("*.json.j2") if not p.name.startswith("_"))


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return value


def render_json(name: str, **context: Any) -> Any:
    text = environment().get_template(name).render(**context)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:  # a template bug, not bad data: data goes through |j
        raise ValueError(f"template {name} rendered invalid JSON at line {exc.lineno}: {exc.msg}") from exc


def render_text(name: str, **context: Any) -> str:
    """A plain-text (mrkdwn) template: what vma says where Slack shows text rather than blocks."""
    return environment().get_template(name).render(**context)


def mention(user_id: str) -> str:
    """A person by Slack user ID, as Slack writes them in text."""
    return render_text("mention.txt.j2", user_id=user_id)


def answer_notice(result) -> str:
    """Why a click on an answer was not recorded (a ``vma.conversations.answers.AnswerResult``), in words."""
    return render_text("answer_notice.txt.j2", result=result)


def checkchart_text(result) -> str:
    """The /checkchart answer (a ``vma.conversations.lookup.CheckchartResult``) in words."""
    return render_text("checkchart_text.txt.j2", result=result)


def render_blocks(name: str, **context: Any) -> list[dict]:
    blocks = render_json(name, **context)
    problems = validate_blocks(blocks, "message")
    if problems:
        raise BlockKitError([f"{name}: {p}" for p in problems])
    return blocks


def render_view(name: str, **context: Any) -> dict:
    view = render_json(name, **context)
    problems = validate_view(view)
    if problems:
        raise BlockKitError([f"{name}: {p}" for p in problems])
    return view


def fallback_text(blocks: list[dict], limit: int = 3000) -> str:
    """The notification text Slack shows where blocks are not rendered (and screen readers use)."""
    parts: list[str] = []
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict) and text.get("text"):
            parts.append(text["text"])
        for element in block.get("elements") or []:
            if block.get("type") == "context" and element.get("text"):
                parts.append(element["text"])
    return cut("\n".join(parts), limit) or "vma"
