"""The ``vma`` command (contract section 2)."""

from __future__ import annotations

import argparse
import json
import os
import sys

CHECK_EPILOG = """\
formats (detected from the content, whatever the file is called):
  canonical chart JSON     the schema `vma schema chart` prints
  FHIR R4 JSON             DocumentReference, Composition, or a Bundle holding them
                           with Encounter, Condition, Procedure and Claim
  HL7 v2 MDM               ER7 text, segments separated by CR or LF

a directory checks the *.json, *.hl7 and *.er7 files directly in it.

exit status:
  0  every chart is clear
  1  a chart has findings
  2  unreadable or invalid input (one line per problem on stderr, naming the file and
     the field); the other files are still checked and printed. Also a broken payer
     rule pack in VMA_RULES_DIR (file and rule named; nothing is checked)
  3  a check failed on some chart (status "incomplete")
"""


def _reuse_dataclass_code() -> None:
    """Let ``dataclasses`` take the code of the methods it writes from an earlier run.

    ``@dataclass`` writes each class's methods as source text and compiles it: for the fifty-odd classes
    a check run loads, parsing and compiling that text was about a fifth of a one-chart ``vma check``.
    The text of a method depends only on the class's declaration, so what it compiles to is kept in vma's
    cache folder, keyed by the text and the interpreter, and a text seen before runs its kept code: the
    very code compiling it gives (as ``exec`` compiles it: no ``__future__`` flags inherited from here).
    Anything unexpected (no such file, an entry that does not load) compiles the text as before."""
    import dataclasses
    import marshal

    if "exec" in vars(dataclasses):  # set up already
        return
    version = f"{sys.implementation.cache_tag}-{sys.version_info.releaselevel}{sys.version_info.serial}"
    path = os.path.join(os.environ.get("VMA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "vma"),  # vma's cache folder
        f"dataclass-code-{version}-O{sys.flags.optimize}.marshal")
    try:
        with open(path, "rb") as fh:
            kept = marshal.load(fh)
        if not isinstance(kept, dict):
            kept = {}
    except Exception:  # none yet, torn or unreadable: compiled again, and written anew
        kept = {}
    added: dict[str, bytes] = {}

    def exec_kept(source, globals=None, locals=None):
        code = None
        if type(source) is str:
            blob = kept.get(source)
            if type(blob) is bytes:
                try:
                    code = marshal.loads(blob)
                except Exception:
                    code = None
            if code is None:
                code = compile(source, "<string>", "exec", dont_inherit=True)
                if not added:
                    import atexit

                    atexit.register(save)
                added[source] = kept[source] = marshal.dumps(code)
        return exec(source if code is None else code, globals, locals)

    def save() -> None:
        try:
            with open(path, "rb") as fh:
                merged = marshal.load(fh)  # another process may have added entries meanwhile
            if not isinstance(merged, dict):
                merged = {}
        except Exception:
            merged = {}
        merged.update(added)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.tmp{os.getpid()}"
            with open(tmp, "wb") as fh:
                marshal.dump(merged, fh)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only cache: compiled again next time

    dataclasses.exec = exec_kept  # looked up before the built-in by dataclasses' own calls


def _rule_problems() -> list[str] | None:
    """The payer rule packs of VMA_RULES_DIR, loaded now: a broken pack stops the command (exit 2)
    rather than being skipped, so a clinic never believes an edit runs that does not."""
    from vma.reference import default_reference
    from vma.rules import RulePackError

    try:
        default_reference().payer_rules
    except RulePackError as exc:
        return [str(p) for p in exc.problems]
    return None


def _load_icd_index(log_event) -> None:
    """Read the ICD-10-CM index now, before the first chart or ``/checkchart`` arrives. After an install or an
    upgrade that changes the index's format it is compiled first, with the tables the checks derive from it:
    seconds, which no user's first chart should wait for."""
    import time

    from vma.reference import default_reference

    started = time.perf_counter()
    releases = default_reference().icd_catalog.releases
    log_event("icd_index_loaded", releases=len(releases), seconds=round(time.perf_counter() - started, 2))


def _report_rule_problems(command: str, problems: list[str]) -> int:
    for line in problems:
        print(f"{line}", file=sys.stderr)
    print(f"vma {command}: VMA_RULES_DIR has {len(problems)} problem(s) in its payer rule packs; "
          "fix them (vma rules check) before running", file=sys.stderr)
    return 2



def _jobs(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of processes: {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("the number of processes is 1 or more")
    return n


def cmd_check(args: argparse.Namespace) -> int:
    problems = _rule_problems()
    if problems:
        return _report_rule_problems("check", problems)
    from vma.check_files import check_files

    return check_files(args.paths, as_json=args.json, jobs=args.jobs)


def cmd_schema(args: argparse.Namespace) -> int:
    from vma.chart import chart_json_schema

    print(json.dumps(chart_json_schema(), indent=2))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    from vma.config import get_settings
    from vma.logging_setup import configure, log_event
    from vma.web import serve

    settings = get_settings()
    configure(args.log_format or settings.vma_log_format, settings.vma_log_level)
    problems = _rule_problems()
    if problems:
        return _report_rule_problems("serve", problems)
    log_event("serve_starting", version=version(), host=args.host, port=args.port, mllp_port=args.mllp_port,
              slack="socket_mode" if args.socket_mode else "http",
              database=make_url(settings.vma_database_url).get_backend_name())  # never the URL: it may hold a password
    _load_icd_index(log_event)
    return serve(host=args.host, port=args.port, mllp_port=args.mllp_port, socket_mode=args.socket_mode,
                 allow_open_intake=args.allow_open_intake)


def cmd_demo(args: argparse.Namespace) -> int:
    from vma.demo import run_demo

    return run_demo()


def cmd_digest(args: argparse.Namespace) -> int:
    """``vma digest [--print]``: 0 done, 2 configuration or database problem (said on stderr)."""
    from vma.config import get_settings
    from vma.conversations.digest import build_from_settings, post_digest, render_text
    from vma.directory import Directory
    from vma.integrations.slack.notifier import notifier_from_settings
    from vma.store.db import Store

    try:
        settings = get_settings()
        directory = Directory.load(settings.vma_provider_directory)
        store = Store(settings.vma_database_url)
        store.migrate()
        if args.print:
            sys.stdout.write(render_text(build_from_settings(settings, store, directory=directory)))
            return 0
        post_digest(settings, store, notifier_from_settings(settings), directory=directory)
        print(f"digest posted to {settings.vma_manager_channel}")
        return 0
    except ValueError as exc:
        print(f"vma digest: {exc}", file=sys.stderr)
        return 2


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


def cmd_rules_check(args: argparse.Namespace) -> int:
    """``vma rules check [DIR]``: 0 every pack is usable, 2 a problem (one line each, naming file and rule)."""
    from vma.config import get_settings
    from vma.rules import RulePackError, load_rules

    folder = args.dir or get_settings().vma_rules_dir
    if not folder:
        print("vma rules check: no folder given and VMA_RULES_DIR is not set", file=sys.stderr)
        return 2
    try:
        rules = load_rules(folder)
    except RulePackError as exc:
        for problem in exc.problems:
            print(str(problem), file=sys.stderr)
        print(f"vma rules check: {len(exc.problems)} problem(s)", file=sys.stderr)
        return 2
    for pack in rules.packs:
        print(f"{pack.path}: payer {pack.payer_id} ({pack.payer_name or '-'}), version {pack.version or '-'}: "
              f"{len(pack.rules)} rule(s) OK")
    if not rules.packs:
        print(f"vma rules check: {folder} holds no pack (*.yaml, *.yml)", file=sys.stderr)
    return 0


def cmd_rules_test(args: argparse.Namespace) -> int:
    """``vma rules test DIR``: 0 every example chart gets exactly its expected rules, 1 one does not,
    2 a broken pack or example."""
    from vma.rules import RulePackError, run_pack_tests

    try:
        results = run_pack_tests(args.dir)
    except RulePackError as exc:
        for problem in exc.problems:
            print(str(problem), file=sys.stderr)
        return 2
    worst = 0
    for result in results:
        print(result.line())
        worst = max(worst, result.exit_code)
    if not results:
        print(f"vma rules test: {args.dir}/tests holds no example chart", file=sys.stderr)
        return 2
    passed = sum(1 for r in results if r.exit_code == 0)
    print(f"{passed}/{len(results)} example chart(s) passed", file=sys.stderr)
    return worst


def cmd_slack_manifest(args: argparse.Namespace) -> int:
    from vma.integrations.slack.manifest import ManifestError, render

    try:
        sys.stdout.write(render(args.url, socket_mode=args.socket_mode, fmt=args.format))
    except ManifestError as exc:
        print(f"vma slack manifest: {exc}", file=sys.stderr)
        return 2
    return 0


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("vma")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


class _HelpWithDefaults(argparse.HelpFormatter):
    """Each option's help ends with its default (when it has one worth saying)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.option_strings and action.default not in (None, False, argparse.SUPPRESS) \
                and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


def _describe(parser: argparse.ArgumentParser, helps: dict[str, str]) -> None:
    """Help text for options defined without any, so --help says what each does and its default."""
    parser.formatter_class = _HelpWithDefaults
    for action in parser._actions:
        if not action.help and action.dest in helps:
            action.help = helps[action.dest]


class _Version(argparse.Action):
    """--version: the installed version is looked up when asked for, not on every run (reading the
    package metadata costs a one-chart check a tenth of its time)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest, nargs=0, default=default,
                         help=help or "show program's version number and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"vma {version()}")
        parser.exit()


def _add_check(sub) -> None:
    c = sub.add_parser("check", help="run every check on chart files ('-' reads stdin)",
                       description="Run every check on chart files and print the findings.",
                       epilog=CHECK_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("paths", nargs="+", metavar="PATH", help="a chart file, a directory of chart files, or '-' for stdin")
    c.add_argument("--json", action="store_true", help="one JSON object per chart per line")
    c.add_argument("-j", "--jobs", type=_jobs, default=None, metavar="N",
                   help="check the files in N processes sharing one loaded index; the output is the same, "
                        "in the same order (default: the machine's cores)")
    c.set_defaults(fn=cmd_check)


def _add_serve(sub) -> None:
    s = sub.add_parser("serve", help="run the bot")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=3000)
    s.add_argument("--mllp-port", type=int, default=None)
    s.add_argument("--socket-mode", action="store_true")
    s.add_argument("--allow-open-intake", action="store_true",
                   help="listen on an address other than loopback without VMA_INTAKE_TOKENS (a closed network only)")
    s.add_argument("--log-format", choices=["text", "json"], default=None,
                   help="one line per log record as text, or as a JSON object for a log shipper "
                        "(default: VMA_LOG_FORMAT, else text)")
    s.description = ("Run the bot: Slack at POST /slack/events (or over Socket Mode), chart intake at "
                     "POST /charts and POST /fhir, GET /healthz, and the reminder, escalation and digest clock. "
                     "Settings come from the environment or vma.toml (docs/operator-guide.md).")
    _describe(s, {
        "host": "address to listen on",
        "port": "HTTP port (Slack events unless --socket-mode, /charts, /fhir, /healthz)",
        "mllp_port": "also take HL7 v2 over MLLP on this port (off unless given)",
        "socket_mode": "take Slack's traffic over Socket Mode (SLACK_APP_TOKEN; no public URL, no signing secret)",
    })
    s.set_defaults(fn=cmd_serve)


def _add_slack(sub) -> None:
    sl = sub.add_parser("slack", help="Slack set-up tools")
    slsub = sl.add_subparsers(dest="slack_command", required=True)
    sm = slsub.add_parser("manifest", help="print the Slack app manifest to paste at api.slack.com/apps",
                          formatter_class=_HelpWithDefaults)
    sm.add_argument("--url", default=None, help="public HTTPS address of vma serve; requests go to URL/slack/events")
    sm.add_argument("--socket-mode", action="store_true", help="Socket Mode instead of request URLs")
    sm.add_argument("--format", choices=["yaml", "json"], default="yaml", help="manifest format")
    sm.set_defaults(fn=cmd_slack_manifest)


def _add_demo(sub) -> None:
    d = sub.add_parser("demo", help="run the whole flow on embedded defaults")
    d.set_defaults(fn=cmd_demo)


def _add_digest(sub) -> None:
    g = sub.add_parser("digest", help="build the query-aging digest now")
    g.add_argument("--print", action="store_true", help="write it to stdout instead of Slack")
    g.set_defaults(fn=cmd_digest)


def _add_schema(sub) -> None:
    sc = sub.add_parser("schema", help="print a JSON Schema")
    sc.add_argument("what", choices=["chart"])
    sc.set_defaults(fn=cmd_schema)


def _add_rules(sub) -> None:
    r = sub.add_parser("rules", help="payer rule pack tools (VMA_RULES_DIR)")
    rsub = r.add_subparsers(dest="rules_command", required=True)
    rc = rsub.add_parser("check", help="validate every pack: YAML, fields, CEL against the chart's shape, duplicate IDs")
    rc.add_argument("dir", nargs="?", default=None, metavar="DIR", help="folder of packs (default: VMA_RULES_DIR)")
    rc.set_defaults(fn=cmd_rules_check)
    rt = rsub.add_parser("test", help="run the example charts in DIR/tests against the packs in DIR")
    rt.add_argument("dir", metavar="DIR", help="folder of packs with a tests/ folder of example charts and "
                                                "tests/expected.yaml (file name: list of rule IDs)")
    rt.set_defaults(fn=cmd_rules_test)


def _add_audit(sub) -> None:
    a = sub.add_parser("audit", help="audit log tools")
    asub = a.add_subparsers(dest="audit_command", required=True)
    ae = asub.add_parser("export", help="export the audit log for compliance review")
    ae.add_argument("--since", default=None, help="ISO date or datetime")
    ae.add_argument("--format", choices=["csv", "jsonl"], default="jsonl")
    ae.set_defaults(fn=cmd_audit)


# The commands in the order `vma --help` lists them, each with what adds its parser.
_COMMANDS = {"check": _add_check, "serve": _add_serve, "slack": _add_slack, "demo": _add_demo,
             "digest": _add_digest, "schema": _add_schema, "rules": _add_rules, "audit": _add_audit}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line; with ``only``, just that command's parser (building all eight was a few
    milliseconds of every one-chart check)."""
    p = argparse.ArgumentParser(prog="vma", description="Check signed charts and run compliant provider queries in Slack.")
    p.add_argument("--version", action=_Version)
    sub = p.add_subparsers(dest="command", required=True)
    for name, add in _COMMANDS.items():
        if only is None or name == only:
            add(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    _reuse_dataclass_code()
    words = sys.argv[1:] if argv is None else argv
    args = build_parser(words[0] if words and words[0] in _COMMANDS else None).parse_args(words)
    try:
        return args.fn(args) or 0
    except BrokenPipeError:
        # A reader that stops early (`vma check dir | head`, `vma schema chart | head`) ends the command quietly,
        # with the status a shell gives `cat` there (128 + SIGPIPE), not a traceback. Caught rather than dying of
        # the signal, so that `vma check`'s worker processes are ended on the way out. Stdout goes to /dev/null:
        # the interpreter flushes it at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + 13
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # A configuration error can only come from vma.config, which `vma check` often never loads.
        config = sys.modules.get("vma.config")
        if config is not None and isinstance(exc, config.ConfigError):  # names the file or variable and the key
            print(f"vma: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
