"""The Slack app manifest: the whole Slack side of vma in one paste (``vma slack manifest``).

An administrator creates the app at api.slack.com/apps, "From an app manifest", pastes the
output, installs it to the workspace and copies the bot token (and, for Socket Mode, an
app-level token with ``connections:write``). Everything the code asks of Slack is declared here
and only here: the bot scopes (each with the reason vma needs it), the ``/checkchart`` command,
interactivity (the answer buttons and the "Other" window), the App Home tab and its
``app_home_opened`` event, all at ``<url>/slack/events``, or Socket Mode with no public URL.

``METHOD_SCOPES`` maps each Web API method vma calls to the scopes it needs; a test reads the
code for every method called and fails when one is missing here, and the checked-in
``slack-manifest.yml`` is this module's output (another test compares them).

The YAML is written with every value as a JSON scalar (strings double-quoted), so it reads the
same in any YAML parser and Slack's manifest editor.
"""

from __future__ import annotations

import json
from typing import Any

APP_NAME = "vma"
EVENTS_PATH = "/slack/events"
EXAMPLE_URL = "https://vma.example.org"

# Bot scopes, in the order the manifest lists them, with why vma needs each one.
SCOPES: dict[str, str] = {
    "chat:write": "post query DMs, reminders, escalations, cleared charts and the digest; update a DM "
                  "in place after an answer; ephemeral replies",
    "im:write": "open the direct message with a provider or a supervisor (conversations.open)",
    "users:read": "required by Slack alongside users:read.email",
    "users:read.email": "find a provider's Slack account from the chart's email (users.lookupByEmail) "
                        "when the directory has no slack_user_id",
    "commands": "the /checkchart slash command",
    "files:write": "attach the digest's chart picture (files.getUploadURLExternal, files.completeUploadExternal)",
    "usergroups:read": "let members of VMA_CHECKCHART_USERGROUP use /checkchart (usergroups.users.list)",
    "channels:history": "after a crash, look in a public channel for a message already sent before sending "
                        "it again (conversations.history)",
    "groups:history": "the same for a private coder or manager channel",
    "im:history": "the same for a provider's DM",
}

# Every Web API method vma calls, and the bot scopes it needs (none: views and auth need no scope).
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "conversations.open": ("im:write",),
    # The channel may be public, private or a DM: each kind has its own history scope.
    "conversations.history": ("channels:history", "groups:history", "im:history"),
    "users.lookupByEmail": ("users:read", "users:read.email"),
    "usergroups.users.list": ("usergroups:read",),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
    "views.open": (),
    "views.push": (),
    "views.update": (),
    "views.publish": (),
    "auth.test": (),
    # Socket Mode: called with the app-level token (xapp-), whose scope is connections:write.
    "apps.connections.open": (),
}
APP_TOKEN_SCOPE = "connections:write"
BOT_EVENTS = ("app_home_opened",)

LONG_DESCRIPTION = (
    "vma checks each signed visit note against the codes proposed for it (ICD-10-CM, CPT, HCPCS) the moment "
    "it is signed. What the record already supports becomes a suggestion for the coder; what only the "
    "physician can settle becomes one direct message per chart, with one button per answer. Reminders and "
    "escalation run on business time, managers get a daily query-aging digest and a live view in App Home, "
    "and cleared charts go to the coders' channel with their final codes."
)


class ManifestError(ValueError):
    pass


def request_url(url: str) -> str:
    """``https://host[/prefix]`` -> ``https://host[/prefix]/slack/events`` (Slack sends only to HTTPS)."""
    text = (url or "").strip().rstrip("/")
    if not text.startswith("https://") or len(text) <= len("https://"):
        raise ManifestError(f"--url must be the public HTTPS address of vma serve (https://host), not {url!r}")
    return text if text.endswith(EVENTS_PATH) else text + EVENTS_PATH


def manifest(url: str | None = None, socket_mode: bool = False, name: str = APP_NAME) -> dict[str, Any]:
    """The app manifest: Socket Mode, or every request URL at ``url`` + ``/slack/events``."""
    if not socket_mode and not url:
        raise ManifestError("give --url https://<host of vma serve>, or --socket-mode")
    events = None if socket_mode else request_url(url or "")
    command: dict[str, Any] = {"command": "/checkchart"}
    if events:
        command["url"] = events
    command.update({
        "description": "A chart's codes and findings, or check a note before signing",
        "usage_hint": "[chart id]",
        "should_escape": False,
    })
    subscriptions: dict[str, Any] = {}
    if events:
        subscriptions["request_url"] = events
    subscriptions["bot_events"] = list(BOT_EVENTS)
    interactivity: dict[str, Any] = {"is_enabled": True}
    if events:
        interactivity["request_url"] = events
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": name,
            "description": "Checks signed charts and asks the physician in Slack, before coding",
            "background_color": "#1d4f91",
            "long_description": LONG_DESCRIPTION,
        },
        "features": {
            "app_home": {"home_tab_enabled": True, "messages_tab_enabled": True,
                         "messages_tab_read_only_enabled": True},
            "bot_user": {"display_name": name, "always_online": True},
            "slash_commands": [command],
        },
        "oauth_config": {"scopes": {"bot": list(SCOPES)}},
        "settings": {
            "event_subscriptions": subscriptions,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": bool(socket_mode),
            "token_rotation_enabled": False,
        },
    }


def header(url: str | None, socket_mode: bool) -> str:
    how = "--socket-mode" if socket_mode else f"--url {url}"
    lines = [
        f"# Slack app manifest for vma, generated by `vma slack manifest {how}`.",
        "# Create the app at https://api.slack.com/apps -> Create New App -> From an app manifest,",
        "# paste this, install it to the workspace, and copy the Bot User OAuth Token (SLACK_BOT_TOKEN).",
    ]
    if socket_mode:
        lines.append(f"# Socket Mode: under Basic Information create an app-level token with {APP_TOKEN_SCOPE}"
                     " (SLACK_APP_TOKEN, xapp-...).")
    else:
        lines.append("# HTTP: copy the Signing Secret from Basic Information (SLACK_SIGNING_SECRET).")
    lines.append("# See docs/operator-guide.md, \"Create the Slack app\".")
    return "\n".join(lines) + "\n"


def to_yaml(data: dict[str, Any], comments: dict[str, str] | None = None) -> str:
    """Block-style YAML with JSON scalars; ``comments`` adds ``# why`` after list items with that value."""
    comments = SCOPES if comments is None else comments
    out: list[str] = []

    def scalar(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    def emit(value: Any, indent: int) -> None:
        pad = "  " * indent
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, (dict, list)) and item:
                    out.append(f"{pad}{key}:")
                    emit(item, indent + 1)
                else:
                    out.append(f"{pad}{key}: {scalar(item)}")
        else:
            for item in value:
                if isinstance(item, dict):
                    first = True
                    for key, sub in item.items():
                        lead = f"{pad}- " if first else f"{pad}  "
                        first = False
                        if isinstance(sub, (dict, list)) and sub:
                            out.append(f"{lead}{key}:")
                            emit(sub, indent + 2)
                        else:
                            out.append(f"{lead}{key}: {scalar(sub)}")
                else:
                    why = comments.get(item) if isinstance(item, str) else None
                    out.append(f"{pad}- {scalar(item)}" + (f"  # {why}" if why else ""))

    emit(data, 0)
    return "\n".join(out) + "\n"


def render(url: str | None = None, socket_mode: bool = False, fmt: str = "yaml") -> str:
    data = manifest(url, socket_mode)
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    return header(url, socket_mode) + to_yaml(data)


def checked_in_text() -> str:
    """What ``slack-manifest.yml`` at the top of the repository holds."""
    return render(EXAMPLE_URL)
