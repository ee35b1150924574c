"""Patterns cheap to run on every sentence: compiled on first use, and tried only where their literal gate (words every match must contain) is in the lower-cased text."""

from __future__ import annotations

import re
import re._constants as _sre
import re._parser as _sre_parse
import sys
from functools import lru_cache

from vma.compiled_patterns import MachineCache, compile_pattern

# The only characters other than ASCII letters that re.I matches to ASCII letters (and the only one whose
# lower case is longer). A note without them has a match of a pattern of lower-case ASCII letters with re.I where
# the lower-cased note has one of the pattern without re.I, at the same place.
_FOLDING_ONTO_ASCII = ("\u0130", "\u0131", "\u017f", "\u212a")


def _folds_onto_ascii(text: str) -> bool:
    """Whether the text has a character of _FOLDING_ONTO_ASCII (a str scan: a regex class of them costs ms to compile)."""
    return not text.isascii() and any(c in text for c in _FOLDING_ONTO_ASCII)
def _required_fragments(parsed) -> set[str] | None:
    """Literal strings one of which every match of the parsed (case-sensitive) pattern contains,
    or None when no such set is evident. Sound by construction: only a run of literals that every
    match passes through, or the union over all branches of an alternation, counts."""
    candidates: list[set[str]] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            candidates.append({"".join(run)})
            run.clear()

    for op, av in parsed:
        if op is _sre.LITERAL:
            run.append(chr(av))
            continue
        flush()
        if op is _sre.BRANCH:
            alternatives = [_required_fragments(alt) for alt in av[1]]
            if all(a is not None for a in alternatives):
                candidates.append(set().union(*alternatives))
        elif op is _sre.SUBPATTERN and not av[1] and not av[2]:  # no inline flags that change matching
            inner = _required_fragments(av[3])
            if inner is not None:
                candidates.append(inner)
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) and av[0] >= 1:
            inner = _required_fragments(av[2])
            if inner is not None:
                candidates.append(inner)
    flush()
    if not candidates:
        return None
    return max(candidates, key=lambda c: (min(len(f) for f in c), -len(c)))


def _gate_for(rx: re.Pattern[str]) -> re.Pattern[str] | None:
    """A plain literal alternation that must match wherever ``rx`` can: sre scans one with a first-
    character table, many times faster than the full pattern, and most sentences fail it."""
    gate = _gate_source(rx.pattern, rx.flags)
    return compile_pattern(gate) if gate is not None else None


_GATES_FORMAT = 2  # bump when _required_fragments or _trie_regex changes what they return, or what an entry holds

# The parser (and so what a pattern requires) belongs to the Python version.
PATTERN_GATES = MachineCache(f"pattern-gates-py{sys.version_info[0]}{sys.version_info[1]}-{_GATES_FORMAT}.pickle")


def _gate(pattern: str, flags: int) -> tuple[str, tuple[str, ...]] | None:
    """The gate's pattern and the literals it looks for, worked out from the parsed pattern once and then kept on
    disk: parsing the long clinical alternations again in every process cost a one-chart check more than compiling
    them. Of the literals, one that holds another is left out: wherever it stands, so does the other."""
    key = (pattern, int(flags))
    gates = PATTERN_GATES.entries()
    if key not in gates:
        fragments = _required_fragments(_sre_parse.parse(pattern, flags))
        if not fragments or min(len(f) for f in fragments) < 2:
            PATTERN_GATES.add(key, None)
        else:
            literals = tuple(sorted(f for f in fragments if not any(o != f and o in f for o in fragments)))
            PATTERN_GATES.add(key, (_trie_regex(fragments), literals))
    return gates[key]


def _gate_source(pattern: str, flags: int) -> str | None:
    gate = _gate(pattern, flags)
    return gate[0] if gate is not None else None


def _trie_regex(words: set[str]) -> str:
    """An alternation of ``words`` factored by common prefix ("c(?:ef|illin)"), so that sre tries
    one branch per distinct next character instead of one per word. A word that is a prefix of
    another ends the match early, which is all a gate needs."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            if node.get("") is True:  # a shorter word already covers this branch
                break
            node = node.setdefault(ch, {})
        else:
            node.clear()
            node[""] = True

    def render(node: dict) -> str:
        if node.get("") is True:
            return ""
        branches = [re.escape(ch) + render(child) for ch, child in sorted(node.items())]
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return render(trie)


class LazyPattern:
    """A module-level pattern compiled on first use. ``re.compile`` of the long clinical
    alternations costs most of a cold start, and one chart uses few of them; everything else
    (``search``, ``finditer``, ``pattern``, ``flags`` ...) behaves as the compiled pattern."""

    # The usual calls: once compiled, each slot holds the compiled pattern's own bound method, so a call
    # goes straight to it; before that, the empty slot falls through to __getattr__, which compiles.
    _CALLS = ("search", "match", "fullmatch", "finditer", "findall", "sub", "split")
    __slots__ = ("pattern", "flags", "_rx", *_CALLS)

    def __init__(self, pattern: str, flags: int = 0):
        self.pattern = pattern
        self.flags = flags
        self._rx: re.Pattern[str] | None = None

    def compiled(self) -> re.Pattern[str]:
        if self._rx is None:
            self._rx = rx = compile_pattern(self.pattern, self.flags)
            for name in self._CALLS:
                setattr(self, name, getattr(rx, name))
        return self._rx

    def __getattr__(self, name: str):
        return getattr(self.compiled(), name)


def lazy_pattern(pattern: str, flags: int = 0) -> LazyPattern:
    return LazyPattern(pattern, flags)


class LowerCasePattern:
    """A case-insensitive pattern run on lower-cased text without ``re.I``.

    Python's ``re.I`` makes these long alternations 3-5 times slower, and reading
    MDM and the checks' sentence scans are the engine's hottest paths. Positions stay valid: text whose
    lower-casing changes its length (rare non-ASCII) goes to the original
    ``re.I`` pattern. Matched text comes back lower-cased. A literal gate (see
    :func:`_gate_for`) turns most sentences away before the full pattern runs.
    """

    def __init__(self, rx: re.Pattern[str]):
        self.ci = rx
        self.pattern = rx.pattern
        self._ready = False

    def _prepare(self) -> None:
        """Work out the gate on first use, not at import: a process checking one chart uses a
        fraction of the patterns. The full lower-case pattern is compiled only when some text passes
        the gate (see :meth:`_compile_lower`): in most charts most gates never open, and sre's
        compiler, written in Python, cost a one-chart check 14 ms for those patterns alone."""
        literal = re.sub(r"\\.", "", self.ci.pattern)  # escapes such as \b or \S are not letters to fold
        self._lowerable = not re.search(r"[A-Z]", literal)
        self._lower: re.Pattern[str] | None = None
        flags = self.ci.flags & ~re.I
        if not flags & re.ASCII:
            flags |= re.UNICODE  # as compiling a str pattern sets it
        self._lower_flags = flags
        gate = _gate(self.ci.pattern, flags) if self._lowerable else None
        self._gate = compile_pattern(gate[0]) if gate is not None else None
        self._gate_literals = gate[1] if gate is not None else None
        self._ready = True

    def _compile_lower(self) -> re.Pattern[str]:
        self._lower = compile_pattern(self.ci.pattern, self._lower_flags)
        return self._lower

    @property
    def lower(self) -> re.Pattern[str] | None:
        if not self._ready:
            self._prepare()
        if not self._lowerable:
            return None
        return self._lower or self._compile_lower()

    @property
    def gate(self) -> re.Pattern[str] | None:
        if not self._ready:
            self._prepare()
        return self._gate

    @property
    def gate_literals(self) -> tuple[str, ...] | None:
        """The literals the gate looks for: the gate finds something in text exactly where one of them stands."""
        if not self._ready:
            self._prepare()
        return self._gate_literals

    def _pick(self, text: str) -> tuple[re.Pattern[str] | None, str]:
        """The pattern and text to run, or no pattern when the gate shows there is no match."""
        if not self._ready:
            self._prepare()
        if self._lowerable:
            lowered = _lowered(text)
            if len(lowered) == len(text):
                if self._gate is not None and self._gate.search(lowered) is None:
                    return None, lowered
                return self._lower or self._compile_lower(), lowered
        return self.ci, text

    # search and finditer are _pick written out: they run some 450 times a chart, mostly to a closed gate.

    def search(self, text: str):
        if not self._ready:
            self._prepare()
        if self._lowerable:
            lowered = _lowered(text)
            if len(lowered) == len(text):
                gate = self._gate
                if gate is not None and gate.search(lowered) is None:
                    return None
                return (self._lower or self._compile_lower()).search(lowered)
        return self.ci.search(text)

    def search_past_gate(self, text: str):
        """:meth:`search` without the gate, for a text already known to hold one of the pattern's literals: the gate
        finds something wherever the pattern does, so it could only be searched for again to the same answer."""
        lower = self.lower
        if lower is not None:
            lowered = _lowered(text)
            if len(lowered) == len(text):
                return lower.search(lowered)
        return self.ci.search(text)

    def match(self, text: str):
        rx, t = self._pick(text)
        return rx.match(t) if rx is not None else None

    def finditer(self, text: str):
        if not self._ready:
            self._prepare()
        if self._lowerable:
            lowered = _lowered(text)
            if len(lowered) == len(text):
                gate = self._gate
                if gate is not None and gate.search(lowered) is None:
                    return iter(())
                return (self._lower or self._compile_lower()).finditer(lowered)
        return self.ci.finditer(text)


# A text lower-cased, worked out at each call: str.lower of a sentence costs less than looking the sentence up in a
# cache of the last ones lower-cased (hashing aside, an LRU lookup and its bookkeeping outweigh lower-casing some
# hundred characters), and a lower-cased text is the same text whichever way it comes.
_lowered = str.lower




@lru_cache(maxsize=256)  # one entry per module-level pattern; never keyed by note text
def lower_case_pattern(rx: re.Pattern[str]) -> LowerCasePattern:
    """The :class:`LowerCasePattern` of a module-level pattern, built once."""
    return LowerCasePattern(rx)
