"""YAML front matter: libyaml's C loader where it is installed, PyYAML's pure loader otherwise.

A Hugo or Jekyll archive carries YAML front matter, and PyYAML's pure-Python ``SafeLoader``
spends ~490 us on each (about nine times libyaml's ``CSafeLoader`` on the same text), which
made a cold build of such an archive three times slower than one of TOML. The C loader only
scans, parses and composes in C; resolving tags and constructing values stay PyYAML's own
Python code, so both loaders share the safe-load rules and our one resolver change
(timestamps stay strings, parsed later with their time zones intact).

Even the C loader spends ~10x what our TOML fast path does (building nodes and marks, then
resolving and constructing each in Python), so front matter made only of what Hugo and Jekyll
archives hold -- ``key: value`` lines with plain or quoted strings, booleans, numbers and dates,
and lists of those in flow (``[a, b]``) or block (``- a``) style -- is read by one regex per
line (``_simple``), as ``frontmatter._simple_toml`` does for TOML, and returns exactly what the
pure loader would (property-tested against it). Anything else, or anything doubtful, goes on
to the loaders.

The pure loader stays the reference. What the C loader returns is used only when nothing
could differ: a document that libyaml refuses (or that nests past ``MAX_DEPTH``, which the
pure loader refuses as it composes) is loaded again by the pure loader, so every error and
its wording are exactly what they were. Without libyaml, the pure loader does everything and
``-v`` says so once.

PyYAML takes ~45 ms to import and TOML front matter needs none of it, so this module imports
it only on first use: the loaders and the constructors ``_simple`` borrows are built then
(``pure_loader``, ``c_loader``, ``_borrowed``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import yaml
    from yaml.nodes import Node

from .limits import MAX_DEPTH

log = logging.getLogger(__name__)

# +2: the document's own mapping, and the scalar at the innermost level.
_COMPOSE_LIMIT = MAX_DEPTH + 2
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_STR = "tag:yaml.org,2002:str"  # BaseResolver.DEFAULT_SCALAR_TAG (tested)

MISSING_NOTE = (
    "PyYAML has no libyaml here: YAML front matter beyond plain 'key: value' lines and lists "
    "is read by its pure-Python loader, about nine times slower (install libyaml, e.g. "
    "apt-get install libyaml-dev, then reinstall PyYAML)"
)


class TooDeep(Exception):
    """Nesting past MAX_DEPTH at a line of the file (1-based)."""

    def __init__(self, line: int | None) -> None:
        super().__init__(line)
        self.line = line


@cache
def pure_loader() -> type[yaml.SafeLoader]:
    """SafeLoader that leaves timestamps as strings and composes nodes recursively, as
    SafeLoader does, but refuses to nest past MAX_DEPTH (block nesting such as ``- - - -``
    has no bracket that ``frontmatter._too_deep`` could count). Built on first use."""
    import yaml  # PyYAML (~45 ms to import) only once YAML front matter is read

    class PureLoader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            self.depth += 1
            try:
                if self.depth > _COMPOSE_LIMIT:
                    mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                    raise TooDeep(mark.line + 2)
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    # SafeLoader's implicit resolvers without the timestamp one.
    PureLoader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return PureLoader


@cache
def c_loader() -> type[Any] | None:
    """libyaml's CSafeLoader with the same resolvers as ``pure_loader()``, or None (with a
    note under ``-v``, once per process) when PyYAML was installed without libyaml."""
    import yaml  # PyYAML (~45 ms to import) only once YAML front matter is read

    base = getattr(yaml, "CSafeLoader", None)
    if base is None:
        log.debug("note: %s", MISSING_NOTE)
        return None
    # Everything PureLoader changes besides the depth check (which ``_nests_too_deep`` does
    # after composing) is registered here too: resolvers and constructors are class data.
    pure = pure_loader()
    loader: Any = type("CLoader", (base,), {})
    loader.yaml_implicit_resolvers = pure.yaml_implicit_resolvers
    loader.yaml_constructors = pure.yaml_constructors
    loader.yaml_multi_constructors = pure.yaml_multi_constructors
    return cast("type[Any]", loader)


def load(raw: str) -> Any:
    """The YAML document in ``raw``, exactly as ``yaml.load(raw, Loader=pure_loader())`` returns
    it or raises (``yaml.YAMLError``, ``TooDeep``): by ``_simple`` or the C loader when they
    can."""
    fast = c_loader()  # first, so the note on a missing libyaml comes with the first file
    simple = _simple(raw)
    if simple is not None:
        return simple
    return _by_loaders(raw, fast)


def _by_loaders(raw: str, fast: type[Any] | None) -> Any:
    """``raw`` loaded by the C loader ``fast`` where it can be trusted, else by PureLoader
    (``pure_loader()``).

    Not trusted where libyaml and PyYAML are known to part (tested): with tabs and the like
    (``_UNUSUAL``; libyaml reads ``a: b<TAB>c`` as the text ``b<TAB>c``, PyYAML refuses the
    tab), explicit tags (``- !`` is '' to libyaml, None to PyYAML), directives, or a block
    scalar header followed at once by ``#`` (``|#``: '' to libyaml, an error to PyYAML).
    Front matter seldom holds any of them, so all of it goes to the reference."""
    import yaml  # PyYAML (~45 ms to import) only once YAML front matter is read

    if (
        fast is not None
        and not _pattern(_UNUSUAL).search(raw)
        and not _pattern(_DOUBTFUL, re.MULTILINE).search(raw)
    ):
        loader = fast(raw)
        try:
            node = loader.get_single_node()
            if node is not None and not _nests_too_deep(node):  # an empty one: the pure loader
                return loader.construct_document(node)
        except (yaml.YAMLError, RecursionError):
            pass  # the pure loader words the error (or, where libyaml alone balks, loads it)
        finally:
            loader.dispose()
    return yaml.load(raw, Loader=pure_loader())


def _nests_too_deep(root: Node) -> bool:
    """Whether PureLoader would refuse this document for its nesting: one level per node in
    document order, an alias (a node met again) counting as a level but not descended into."""
    from yaml.nodes import MappingNode, SequenceNode  # PyYAML: loaded by the caller already

    seen: set[int] = set()
    stack: list[tuple[Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > _COMPOSE_LIMIT:
            return True
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            stack.extend((child, depth + 1) for child in reversed(node.value))
        elif isinstance(node, MappingNode):
            for key, value in reversed(node.value):
                stack.append((value, depth + 1))
                stack.append((key, depth + 1))
    return False


# --- the simple subset -----------------------------------------------------------------------

# A plain (unquoted) scalar as PyYAML's scanner reads it on one line, made stricter wherever the
# rules get subtle: it starts with no indicator (``-`` only before a non-space), holds no ``: ``,
# no `` #`` and no whitespace but single spaces, and does not end in ``:``. In a flow sequence
# it holds none of ``,[]{}:?#`` either.
_BLOCK_PLAIN = r"""(?:[^\s\-?:,\[\]{}#&*!|>'"%@`]|-[^\s])(?:[^\s:]++|:(?=\S)|[ ]++(?=[^\s#]))*+"""
_FLOW_PLAIN = r"""[^\s\-?:,\[\]{}#&*!|>'"%@`](?:[^\s:,\[\]{}#?]++|[ ]++(?=[^\s:,\[\]{}#?]))*+"""
_QUOTED = r"""'[^']*'|"[^"\\]*["]"""
_FLOW_ITEM = rf"(?:{_QUOTED}|{_FLOW_PLAIN})"
_FLOW_SEQUENCE = rf"\[[ ]*(?:{_FLOW_ITEM}[ ]*,[ ]*)*(?:{_FLOW_ITEM}[ ]*)?\]"
# ``key: value`` at column 0 (group 2 empty: a block sequence follows), or ``- item``.
_KEY_LINE = (
    rf"([A-Za-z_][A-Za-z0-9_-]{{0,99}}):(?:[ ]+({_QUOTED}|{_FLOW_SEQUENCE}|{_BLOCK_PLAIN}))?[ ]*"
)
_ITEM_LINE = rf"([ ]*)-[ ]+({_QUOTED}|{_BLOCK_PLAIN})[ ]*"
_FLOW_ITEMS = _FLOW_ITEM
# A tag (``!`` where a token can start: quoted text such as "Wow !" is a false alarm, which
# costs only time), a directive, or a block scalar's header with a ``#`` right after it
# (``|#``: libyaml reads a comment, PyYAML refuses it), or a ``?`` after a flow collection
# opens on the line (``[0?]``: libyaml reads a plain ``0?``, PyYAML a complex key it then
# refuses): what the C loader is not trusted with.
_DOUBTFUL = r"(?:^|[\s\[{,])!|^%|(?:^|\s)[|>][-+0-9]*#|[\[{][^\n]*\?"
# What PyYAML's reader refuses (the complement of its ``Reader.NON_PRINTABLE``, tested), plus
# tabs, carriage returns, a byte-order mark and what its scanner takes for a line break.
_UNUSUAL = "[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]"


@cache
def _pattern(source: str, flags: int = 0) -> re.Pattern[str]:
    """One of this module's patterns, compiled on first use: compiling runs Python code in
    ``re`` (~37k lines for these character classes and nested groups), which every start of
    syndicate paid for at import, though only parsing front matter or Markdown uses them."""
    return re.compile(source, flags)


@dataclass(frozen=True, slots=True)
class _Borrowed:
    """What ``_simple`` borrows from PyYAML: PureLoader's implicit resolvers, and
    SafeConstructor's functions for the scalars it constructs (with what they are called on)."""

    implicit: dict[Any, list[tuple[str, Any]]]
    scalars: dict[str, Callable[[Any, Any], Any]]
    constructor: Any
    scalar_node: Callable[[str, str], Any]


@cache
def _borrowed() -> _Borrowed:
    """Built on first use, with PureLoader (see the module docstring)."""
    from yaml.constructor import SafeConstructor  # PyYAML (~45 ms) only once YAML is read
    from yaml.nodes import ScalarNode  # PyYAML, as above

    return _Borrowed(
        implicit=pure_loader().yaml_implicit_resolvers,
        scalars={
            tag: SafeConstructor.yaml_constructors[tag]
            for tag in (
                "tag:yaml.org,2002:bool",
                "tag:yaml.org,2002:int",
                "tag:yaml.org,2002:float",
                "tag:yaml.org,2002:null",
            )
        },
        constructor=SafeConstructor(),
        scalar_node=ScalarNode,
    )


def _tag(plain: str, implicit: dict[Any, list[tuple[str, Any]]] | None = None) -> str:
    """The tag PureLoader resolves a (non-empty) plain scalar to: ``BaseResolver.resolve``
    without its generality: SafeLoader has no path resolvers and no wildcard ones (tested)."""
    if implicit is None:
        implicit = _borrowed().implicit
    for tag, pattern in implicit.get(plain[0], ()):
        if pattern.match(plain):
            return str(tag)
    return _STR


@lru_cache(maxsize=512)
def _plain_key(key: str) -> bool:
    """Whether a key matched by ``_KEY_LINE`` is a string (``yes`` or ``null`` are not).
    Cached: a corpus repeats a handful of keys."""
    return _tag(key) == _STR


class _NotSimple(Exception):
    """A value that the simple path leaves to the loaders."""


def _simple(raw: str) -> dict[str, Any] | None:
    """``raw`` loaded exactly as PureLoader would, or None when it is not the simple subset."""
    if not raw or _pattern(_UNUSUAL).search(raw):
        return None
    data: dict[str, Any] = {}
    items: list[Any] | None = None  # the block sequence being read
    indent = -1  # its items' indentation, -1 before the first
    for line in raw.split("\n"):
        parsed = _line(line)
        if parsed is None:
            return None
        if parsed is _BLANK:
            continue
        if parsed[0] is _ITEM:
            _, width, item = parsed
            if items is None:
                return None
            if indent < 0:
                indent = width
            elif width != indent:
                return None
            items.append(item)
            continue
        if items is not None and indent < 0:
            return None  # ``key:`` with no items is null: left to the loaders
        _, key, shape, value = parsed
        if key in data:
            return None  # a repeated key: the loaders word it
        if shape is _SEQUENCE:
            items = data[key] = []
            indent = -1
        else:
            items = None
            data[key] = list(value) if shape is _FLOW else value
    if not data or (items is not None and indent < 0):
        return None  # nothing but blank lines (null), or a last ``key:`` with no items
    return data


_BLANK = ("blank",)
_ITEM = "item"
_KEY = "key"
_SEQUENCE = "sequence"  # ``key:`` alone: a block sequence follows
_FLOW = "flow"  # ``key: [a, b]``
_SCALAR = "scalar"


@lru_cache(maxsize=4096)
def _line(line: str) -> tuple[Any, ...] | None:
    """One line of the simple subset, read: ``_BLANK``, (``_ITEM``, indentation, value) or
    (``_KEY``, key, shape, value); None when it is not in the subset. Cached: an archive's
    front matter repeats lines (``draft: false``, ``tags:``, ``  - Politics``), and a value is
    immutable (a str, bool, int, float or None; a flow sequence a tuple, listed per file)."""
    if not line.strip():
        return _BLANK
    borrowed = _borrowed()
    try:
        if line[0] == " " or line[0] == "-":
            match = _pattern(_ITEM_LINE).fullmatch(line)
            if match is None:
                return None
            return (_ITEM, len(match.group(1)), _scalar(match.group(2), borrowed))
        match = _pattern(_KEY_LINE).fullmatch(line)
        if match is None:
            return None
        key, value = match.groups()
        if not _plain_key(key):
            return None  # a key such as ``yes`` or ``null``
        if value is None:
            return (_KEY, key, _SEQUENCE, None)
        if value[0] == "[":
            flow = _pattern(_FLOW_ITEMS).findall(value[1:-1])
            return (_KEY, key, _FLOW, tuple(_scalar(item, borrowed) for item in flow))
        return (_KEY, key, _SCALAR, _scalar(value, borrowed))
    except _NotSimple:
        return None


def _scalar(text: str, borrowed: _Borrowed) -> Any:
    """A quoted or plain scalar's value, constructed by SafeConstructor's own functions."""
    first = text[0]
    if first == '"' or first == "'":
        return text[1:-1]  # no escapes, no quotes inside: the text as written
    if first not in borrowed.implicit:
        return text  # most text: no resolver starts with its first character
    tag = _tag(text, borrowed.implicit)
    if tag == _STR:
        return text
    construct = borrowed.scalars.get(tag)
    if construct is None:
        raise _NotSimple(tag)  # e.g. ``=`` or ``<<``: the loaders word what happens
    return construct(borrowed.constructor, borrowed.scalar_node(tag, text))
