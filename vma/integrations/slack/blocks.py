"""Block Kit validation: every message and view is checked before it is sent.

``slack_sdk.models`` parses each block and runs its own validators; on top of
that come the limits Slack enforces at the API (and answers ``invalid_blocks``
for) that the models do not check: blocks per surface, text lengths, action IDs
unique within a message. The adapter refuses to send what fails here, and the
local Slack stand-in uses the same functions to reject what would fail in Slack.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_BLOCKS = {"message": 50, "modal": 100, "home": 100}
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTION_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_OPTION_TEXT = 75
MAX_VALUE = 2000
MAX_ACTION_ID = 255
MAX_BLOCK_ID = 255
MAX_SELECT_OPTIONS = 100
MAX_MESSAGE_TEXT = 40000


class BlockKitError(ValueError):
    """Blocks that Slack would refuse; ``problems`` names each one."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _text_of(obj: Any) -> str | None:
    if isinstance(obj, dict):
        return obj.get("text")
    return None


def _check_element(element: dict, where: str, action_ids: set[str], problems: list[str]) -> None:
    action_id = element.get("action_id")
    if action_id is not None:
        if len(action_id) > MAX_ACTION_ID:
            problems.append(f"{where}: action_id longer than {MAX_ACTION_ID}")
        if action_id in action_ids:
            problems.append(f"{where}: action_id {action_id!r} repeats within the surface")
        action_ids.add(action_id)
    kind = element.get("type")
    if kind == "button":
        text = _text_of(element.get("text")) or ""
        if not 0 < len(text) <= MAX_BUTTON_TEXT:
            problems.append(f"{where}: button text must be 1-{MAX_BUTTON_TEXT} characters ({len(text)})")
        if len(element.get("value") or "") > MAX_VALUE:
            problems.append(f"{where}: button value longer than {MAX_VALUE}")
    if kind in ("static_select", "multi_static_select", "radio_buttons", "checkboxes", "overflow"):
        options = element.get("options") or []
        for group in element.get("option_groups") or []:
            options = options + (group.get("options") or [])
        if not options:
            problems.append(f"{where}: {kind} without options")
        if len(options) > MAX_SELECT_OPTIONS:
            problems.append(f"{where}: more than {MAX_SELECT_OPTIONS} options")
        values = [o.get("value") for o in options]
        if len(set(values)) != len(values):
            problems.append(f"{where}: option values repeat")
        for n, option in enumerate(options):
            text = _text_of(option.get("text")) or ""
            if not 0 < len(text) <= MAX_OPTION_TEXT:
                problems.append(f"{where}.options[{n}]: text must be 1-{MAX_OPTION_TEXT} characters ({len(text)})")


def validate_blocks(blocks: Any, surface: str = "message") -> list[str]:
    """Every reason Slack would refuse these blocks on this surface (message, modal, home)."""
    if not isinstance(blocks, list):
        return ["blocks must be a list"]
    problems: list[str] = []
    limit = MAX_BLOCKS.get(surface, 50)
    if len(blocks) > limit:
        problems.append(f"{len(blocks)} blocks; a {surface} takes at most {limit}")
    action_ids: set[str] = set()
    block_ids: set[str] = set()
    for n, raw in enumerate(blocks):
        where = f"blocks[{n}]"
        if not isinstance(raw, dict):
            problems.append(f"{where}: not an object")
            continue
        try:
            parsed = Block.parse(raw)
            if parsed is None:
                problems.append(f"{where}: unknown block type {raw.get('type')!r}")
                continue
            parsed.validate_json()
        except (SlackObjectFormationError, TypeError, KeyError, AttributeError, ValueError) as exc:
            problems.append(f"{where}: {exc}")
            continue
        block_id = raw.get("block_id")
        if block_id is not None:
            if len(block_id) > MAX_BLOCK_ID:
                problems.append(f"{where}: block_id longer than {MAX_BLOCK_ID}")
            if block_id in block_ids:
                problems.append(f"{where}: block_id {block_id!r} repeats")
            block_ids.add(block_id)
        kind = raw.get("type")
        if kind == "section":
            text = _text_of(raw.get("text"))
            fields = raw.get("fields") or []
            if text is None and not fields:
                problems.append(f"{where}: section needs text or fields")
            if text is not None and not 0 < len(text) <= MAX_SECTION_TEXT:
                problems.append(f"{where}: section text must be 1-{MAX_SECTION_TEXT} characters ({len(text)})")
            if len(fields) > MAX_FIELDS:
                problems.append(f"{where}: more than {MAX_FIELDS} fields")
            for f, field in enumerate(fields):
                ftext = _text_of(field) or ""
                if not 0 < len(ftext) <= MAX_FIELD_TEXT:
                    problems.append(f"{where}.fields[{f}]: text must be 1-{MAX_FIELD_TEXT} characters")
            if isinstance(raw.get("accessory"), dict):
                _check_element(raw["accessory"], f"{where}.accessory", action_ids, problems)
        elif kind == "header":
            text = _text_of(raw.get("text")) or ""
            if not 0 < len(text) <= MAX_HEADER_TEXT:
                problems.append(f"{where}: header text must be 1-{MAX_HEADER_TEXT} characters ({len(text)})")
        elif kind == "context":
            elements = raw.get("elements") or []
            if not 0 < len(elements) <= MAX_CONTEXT_ELEMENTS:
                problems.append(f"{where}: context needs 1-{MAX_CONTEXT_ELEMENTS} elements")
            for e, element in enumerate(elements):
                if element.get("type") in ("mrkdwn", "plain_text") and not element.get("text"):
                    problems.append(f"{where}.elements[{e}]: empty text")
        elif kind == "actions":
            elements = raw.get("elements") or []
            if not 0 < len(elements) <= MAX_ACTION_ELEMENTS:
                problems.append(f"{where}: actions needs 1-{MAX_ACTION_ELEMENTS} elements")
            for e, element in enumerate(elements):
                _check_element(element, f"{where}.elements[{e}]", action_ids, problems)
        elif kind == "input":
            element = raw.get("element")
            if not isinstance(element, dict):
                problems.append(f"{where}: input without element")
            else:
                _check_element(element, f"{where}.element", action_ids, problems)
            if surface == "message":
                problems.append(f"{where}: input blocks belong in modals")
    return problems


def validate_view(view: Any) -> list[str]:
    """Every reason Slack would refuse this view (modal or App Home)."""
    if not isinstance(view, dict):
        return ["view must be an object"]
    surface = view.get("type")
    if surface not in ("modal", "home"):
        return [f"view type must be 'modal' or 'home', not {surface!r}"]
    problems: list[str] = []
    try:
        View(**view).validate_json()
    except (SlackObjectFormationError, TypeError, ValueError, AttributeError) as exc:
        problems.append(f"view: {exc}")
    if surface == "modal" and not _text_of(view.get("title")):
        problems.append("modal needs a title")
    has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
    if surface == "modal" and has_input and not _text_of(view.get("submit")):
        problems.append("modal with input blocks needs a submit button")
    blocks_problems = validate_blocks(view.get("blocks") or [], surface)
    problems.extend(p for p in blocks_problems if "input blocks belong" not in p)
    return problems


def validate_message(text: Any, blocks: Any) -> list[str]:
    """A chat.postMessage / chat.update / chat.postEphemeral payload."""
    problems: list[str] = []
    if text is not None and len(str(text)) > MAX_MESSAGE_TEXT:
        problems.append(f"text longer than {MAX_MESSAGE_TEXT}")
    if blocks is not None:
        problems.extend(validate_blocks(blocks, "message"))
    if not text and not blocks:
        problems.append("message needs text or blocks")
    return problems


def ensure_valid_blocks(blocks: Any, surface: str = "message") -> Any:
    problems = validate_blocks(blocks, surface)
    if problems:
        raise BlockKitError(problems)
    return blocks


def ensure_valid_view(view: Any) -> Any:
    problems = validate_view(view)
    if problems:
        raise BlockKitError(problems)
    return view
