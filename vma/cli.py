"""The ``vma`` command (contract section 2)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vma.chart import ChartInputError


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    return Path(path).read_bytes()


def cmd_check(args: argparse.Namespace) -> int:
    from vma.checks import run_checks
    from vma.intake import parse_chart
    from vma.report import render_text

    worst = 0
    for path in args.paths:
        label = "<stdin>" if path == "-" else path
        try:
            raw = _read(path)
        except OSError as exc:
            print(f"{label}: (file): cannot read: {exc.strerror or exc}", file=sys.stderr)
            worst = 2
            if args.json:
                print(json.dumps({"chart_id": None, "source": label, "status": "invalid",
                                  "findings": [{"check": "input", "action": "info", "severity": "error",
                                                "code": None, "message": f"cannot read file: {exc.strerror or exc}",
                                                "evidence": "", "suggested_codes": [], "question": None, "options": []}]}))
            continue
        try:
            chart, _fmt = parse_chart(raw)
        except ChartInputError as exc:
            for err in exc.errors:
                print(f"{label}: {err.field}: {err.message}", file=sys.stderr)
            worst = 2
            if args.json:
                print(json.dumps({"chart_id": None, "source": label, "status": "invalid",
                                  "findings": [{"check": "input", "action": "info", "severity": "error",
                                                "code": None, "message": str(e), "evidence": "",
                                                "suggested_codes": [], "question": None, "options": []}
                                               for e in exc.errors]}))
            continue
        report = run_checks(chart)
        if args.json:
            print(report.model_dump_json())
        else:
            print(render_text(chart, report))
        if report.status != "clear" and worst < 1:
            worst = 1
    return worst


def cmd_schema(args: argparse.Namespace) -> int:
    from vma.chart import chart_json_schema

    print(json.dumps(chart_json_schema(), indent=2))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from vma.web import serve

    return serve(host=args.host, port=args.port, mllp_port=args.mllp_port, socket_mode=args.socket_mode)


def cmd_demo(args: argparse.Namespace) -> int:
    from vma.demo import run_demo

    return run_demo()


def cmd_digest(args: argparse.Namespace) -> int:
    from vma.conversations.digest import run_digest_command

    return run_digest_command(print_only=args.print)


def cmd_audit(args: argparse.Namespace) -> int:
    """``vma audit export``: 0 written, 2 a bad option or an unreadable database (said on stderr)."""
    from sqlalchemy.exc import SQLAlchemyError

    from vma.config import get_settings
    from vma.store.audit import export_audit
    from vma.store.db import Store

    try:
        settings = get_settings()
        store = Store(settings.vma_database_url)
        count = export_audit(store, since=args.since, fmt=args.format, out=sys.stdout)
    except ValueError as exc:
        print(f"vma audit export: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        # the URL may carry a password: name the problem, not the URL
        print(f"vma audit export: cannot read the audit log from VMA_DATABASE_URL: {type(exc).__name__}: "
              f"{str(getattr(exc, 'orig', None) or exc).splitlines()[0][:300]}", file=sys.stderr)
        return 2
    sys.stdout.flush()
    print(f"vma audit export: {count} event(s)", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vma", description="Check signed charts and run compliant provider queries in Slack.")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("check", help="run every check on chart files ('-' reads stdin)")
    c.add_argument("paths", nargs="+")
    c.add_argument("--json", action="store_true", help="one JSON object per chart per line")
    c.set_defaults(fn=cmd_check)

    s = sub.add_parser("serve", help="run the bot")
    s.add_argument("--host", default="0.0.0.0")
    s.add_argument("--port", type=int, default=3000)
    s.add_argument("--mllp-port", type=int, default=None)
    s.add_argument("--socket-mode", action="store_true")
    s.set_defaults(fn=cmd_serve)

    d = sub.add_parser("demo", help="run the whole flow on embedded defaults")
    d.set_defaults(fn=cmd_demo)

    g = sub.add_parser("digest", help="build the query-aging digest now")
    g.add_argument("--print", action="store_true", help="write it to stdout instead of Slack")
    g.set_defaults(fn=cmd_digest)

    sc = sub.add_parser("schema", help="print a JSON Schema")
    sc.add_argument("what", choices=["chart"])
    sc.set_defaults(fn=cmd_schema)

    a = sub.add_parser("audit", help="audit log tools")
    asub = a.add_subparsers(dest="audit_command", required=True)
    ae = asub.add_parser("export", help="export the audit log for compliance review")
    ae.add_argument("--since", default=None, help="ISO date or datetime")
    ae.add_argument("--format", choices=["csv", "jsonl"], default="jsonl")
    ae.set_defaults(fn=cmd_audit)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args) or 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
