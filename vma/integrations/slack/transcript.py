"""The demo's console transcript: the stand-in Slack's recorded calls as the person on the other end saw them
(Block Kit and mrkdwn read back into plain text)."""

from __future__ import annotations

import re
import sys
import textwrap


class Transcript:
    """Turns the stand-in's recorded calls into what each person saw."""

    def __init__(self, slack, people: dict[str, str], channels: dict[str, str], width: int, out=sys.stdout):
        self.slack = slack
        self.channels = channels  # channel id -> what to call it ("#coders channel")
        self.width = width
        self.people = people  # Slack user id -> name
        self.out = out
        self.seen = 0
        self.step = 0

    def name(self, user_id: str) -> str:
        return self.people.get(user_id, user_id)

    def audience(self, channel: str) -> str:
        if channel in self.channels:
            return self.channels[channel]
        for user_id, name in self.people.items():
            if self.slack.dm_channel(user_id) == channel:
                return f"{name}'s DM"
        return channel

    def say(self, text: str = "") -> None:
        print(text, file=self.out)

    def heading(self, text: str) -> None:
        self.step += 1
        self.say()
        self.say(f"{self.step}. {text}")
        self.say("=" * min(self.width, len(text) + 4))

    def note(self, text: str) -> None:
        for line in textwrap.wrap(text, self.width - 4):
            self.say(f"   {line}")

    def _mrkdwn(self, text: str) -> str:
        text = re.sub(r"<@(\w+)>", lambda m: "@" + self.name(m.group(1)), text or "")
        text = text.replace("***", "\0")  # a masked MRN, not bold
        text = re.sub(r"\*([^*\s][^*]*)\*", r"\1", text).replace("`", "")
        return text.replace("\0", "***").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def blocks_text(self, blocks: list[dict] | None, indent: str = "   │ ") -> list[str]:
        lines: list[str] = []

        def add(text: str, prefix: str = "") -> None:
            for raw in self._mrkdwn(text).splitlines() or [""]:
                wrapped = textwrap.wrap(raw, self.width - len(indent) - len(prefix)) or [""]
                lines.extend(indent + prefix + w for w in wrapped)

        for block in blocks or []:
            kind = block.get("type")
            if kind == "header":
                add(block["text"]["text"].upper())
            elif kind == "section":
                if block.get("text"):
                    add(block["text"]["text"])
                for field in block.get("fields") or []:
                    add(field.get("text", "").replace("\n", ": ", 1), "· ")
            elif kind == "context":
                add(" ".join(e.get("text", "") for e in block.get("elements", [])), "· ")
            elif kind == "divider":
                lines.append(indent + "─" * 40)
            elif kind == "actions":
                buttons = []
                for e in block.get("elements", []):
                    if e.get("type") == "static_select":
                        buttons.append("[choose ▾: " + " | ".join(o["text"]["text"] for o in e["options"]) + "]")
                    else:
                        buttons.append(f"[ {e['text']['text']} ]")
                add("  ".join(buttons))
            elif kind == "input":
                add(f"{block['label']['text']}: [ text box ]")
        return lines

    def flush(self) -> None:
        """Prints every Slack call made since the last flush, as the person on the other end saw it."""
        calls = self.slack.calls[self.seen:]
        self.seen += len(calls)
        for call in calls:
            if not call.ok:
                continue
            p = call.params
            if call.method == "chat.postMessage":
                self.say(f"   → {self.audience(p['channel'])}: new message")
                self.say("\n".join(self.blocks_text(p.get("blocks"))
                                   or ["   │ " + line for line in self._mrkdwn(p.get("text", "")).splitlines()]))
            elif call.method == "chat.update":
                self.say(f"   → {self.audience(p['channel'])}: the message is updated in place")
                self.say("\n".join(self.blocks_text(p.get("blocks"))))
            elif call.method == "chat.postEphemeral":
                self.say(f"   → only {self.name(p['user'])} sees (ephemeral): {self._mrkdwn(p.get('text', ''))}")
            elif call.method == "views.open":
                view = p["view"]
                self.say(f"   → a window opens: \"{view['title']['text']}\"")
                self.say("\n".join(self.blocks_text(view.get("blocks"))))
            elif call.method == "views.publish":
                self.say(f"   → {self.name(p['user_id'])}'s App Home")
                self.say("\n".join(self.blocks_text(p["view"].get("blocks"))))
            elif call.method == "response_url":
                self.say("   → reply to the slash command (ephemeral)")
                self.say("\n".join(self.blocks_text(p.get("blocks")) or ["   │ " + self._mrkdwn(p.get("text", ""))]))
            elif call.method == "files.completeUploadExternal":
                for file in p.get("files") or []:
                    self.say(f"   → {self.audience(p.get('channel_id', ''))}: a picture is attached, "
                             f"\"{file.get('title', 'file')}\"")
