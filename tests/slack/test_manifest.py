"""The Slack app manifest: the checked-in slack-manifest.yml is what the code generates, its YAML reads
back to the same manifest, and every Web API method the code calls has its scopes declared."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from slack_sdk import WebClient

from vma.cli import main
from vma.integrations.slack.manifest import (EXAMPLE_URL, METHOD_SCOPES, SCOPES, ManifestError, checked_in_text,
                                             manifest, render, to_yaml)

ROOT = Path(__file__).resolve().parents[2]
# Calls of the SDK that are not one Web API method each.
SDK_HELPERS = {"files_upload_v2": ("files.getUploadURLExternal", "files.completeUploadExternal")}


def read_yaml(text: str):
    """Reads the YAML subset ``to_yaml`` writes (block mappings and lists, JSON scalars, comments).

    Written out here so the test does not trust the emitter: indentation, list items, mappings in
    list items and trailing comments are each parsed the YAML way.
    """
    decoder = json.JSONDecoder()
    lines = []
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        lines.append((len(raw) - len(raw.lstrip(" ")), raw.strip()))

    def scalar(rest: str):
        value, end = decoder.raw_decode(rest)
        tail = rest[end:].strip()
        assert not tail or tail.startswith("#"), f"unexpected text after a value: {rest!r}"
        return value

    def block(index: int, indent: int):
        if lines[index][1].startswith("- "):
            items = []
            while index < len(lines) and lines[index][0] == indent and lines[index][1].startswith("- "):
                body = lines[index][1][2:]
                if ":" in body.split('"')[0] and not body.startswith('"'):
                    # a mapping inside a list item: its first key is on the dash line
                    lines[index] = (indent + 2, body)
                    item, index = block(index, indent + 2)
                else:
                    item, index = scalar(body), index + 1
                items.append(item)
            return items, index
        mapping = {}
        while index < len(lines) and lines[index][0] == indent and not lines[index][1].startswith("- "):
            key, _, rest = lines[index][1].partition(":")
            rest = rest.strip()
            if rest and not rest.startswith("#"):
                mapping[key], index = scalar(rest), index + 1
            else:
                mapping[key], index = block(index + 1, lines[index + 1][0])
        return mapping, index

    data, end = block(0, 0)
    assert end == len(lines)
    return data


def test_the_checked_in_manifest_is_the_generated_one():
    checked_in = (ROOT / "slack-manifest.yml").read_text()
    assert checked_in == checked_in_text(), "slack-manifest.yml is stale: run `make manifest`"
    assert read_yaml(checked_in) == manifest(EXAMPLE_URL)


def test_the_yaml_reads_back_to_the_manifest_in_both_modes():
    for data in (manifest("https://vma.clinic.example/"), manifest(socket_mode=True)):
        assert read_yaml(to_yaml(data)) == data
    assert json.loads(render(socket_mode=True, fmt="json")) == manifest(socket_mode=True)


def test_http_mode_points_everything_at_slack_events():
    data = manifest("https://vma.clinic.example/base/")
    url = "https://vma.clinic.example/base/slack/events"
    assert data["settings"]["event_subscriptions"] == {"request_url": url, "bot_events": ["app_home_opened"]}
    assert data["settings"]["interactivity"] == {"is_enabled": True, "request_url": url}
    command, = data["features"]["slash_commands"]
    assert command["command"] == "/checkchart" and command["url"] == url
    assert data["features"]["app_home"]["home_tab_enabled"] is True
    assert data["settings"]["socket_mode_enabled"] is False
    assert manifest(url)["settings"]["interactivity"]["request_url"] == url  # not .../slack/events/slack/events


def test_socket_mode_has_no_request_urls():
    data = manifest(socket_mode=True)
    assert data["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in json.dumps(data) and '"url"' not in json.dumps(data)
    assert data["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert data["settings"]["interactivity"]["is_enabled"] is True


def test_a_request_url_must_be_https():
    for bad in ("http://vma.clinic.example", "vma.clinic.example", "", "https://"):
        with pytest.raises(ManifestError):
            manifest(bad)


def _slack_methods_called_in(path: Path) -> set[str]:
    """``client.<method>(...)`` / ``self.client.<method>(...)`` calls of WebClient methods, as Slack method names."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        name, target = node.func.attr, ast.unparse(node.func.value)
        if "client" not in target.lower() or name.startswith("_") or name == "api_call":
            continue
        if not callable(getattr(WebClient, name, None)):
            continue
        found.update(SDK_HELPERS.get(name, (name.replace("_", "."),)))
    return found


def test_every_slack_method_vma_calls_has_its_scopes_in_the_manifest():
    called = set()
    for path in sorted((ROOT / "vma").rglob("*.py")):
        if path.name != "standin.py":  # the stand-in is Slack's side
            called |= _slack_methods_called_in(path)
    # The socket-mode client calls apps.connections.open inside the SDK.
    called.add("apps.connections.open")
    assert {"chat.postMessage", "chat.update", "chat.postEphemeral", "conversations.open", "conversations.history",
            "users.lookupByEmail", "views.open", "views.publish", "usergroups.users.list",
            "files.getUploadURLExternal"} <= called
    declared = set(manifest(EXAMPLE_URL)["oauth_config"]["scopes"]["bot"])
    missing = {m: METHOD_SCOPES.get(m) for m in called if m not in METHOD_SCOPES or not set(METHOD_SCOPES[m]) <= declared}
    assert missing == {}, f"methods without their scopes in the manifest: {missing}"
    # And no scope is asked for that nothing uses (least privilege): each serves a method or /checkchart.
    needed = {scope for method in called for scope in METHOD_SCOPES[method]} | {"commands"}
    assert declared == needed
    assert all(SCOPES[scope] for scope in declared)  # each one says why


def test_the_command_prints_the_manifest(capsys):
    assert main(["slack", "manifest", "--url", "https://vma.clinic.example"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Slack app manifest for vma") and read_yaml(out) == manifest("https://vma.clinic.example")
    assert main(["slack", "manifest", "--socket-mode", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["settings"]["socket_mode_enabled"] is True
    assert main(["slack", "manifest"]) == 2
    assert "--url" in capsys.readouterr().err
