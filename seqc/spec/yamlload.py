"""Safe YAML loading that keeps a line:column mark for every node.

Storyboards are untrusted input. This composes the document with PyYAML's safe composer (no
object construction at all; over libyaml's events where those read exactly as PyYAML's parser,
see `_compose`), then builds plain Python values ourselves. Plain scalars are read by YAML 1.2's
core schema, as editors (yaml-language-server) and check-jsonschema read them, not by PyYAML's
YAML 1.1 rules: `5e-1` is a number, `010` is 10, `yes`/`on` and `1:30` are text. So a storyboard
means the same to seqc as to the editor that checks it against the schema (`seqc.spec.yamlcore`).
Python tags, duplicate keys, merge keys, non-finite numbers and alias expansion past a small bound
are refused. Size (MAX_BYTES), nesting (MAX_DEPTH) and alias expansion (MAX_ALIAS_NODES) are
bounded before they can cost real time or memory, and every problem carries a line:column.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import yaml

from seqc.errors import Problem
from seqc.spec.yamlcore import (
    FALSE,
    FLOAT_RE,
    INT_RE,
    NONFINITE_RE,
    TAG,
    TRUE,
    CoreResolver,
)

MAX_BYTES = 1_000_000  # a storyboard larger than this is refused before parsing
MAX_NODES = 200_000  # nodes visited while building values, aliases counted each time
MAX_ALIAS_NODES = 10_000  # nodes visited inside alias expansions (a "billion laughs" stops here)
MAX_DEPTH = 64  # nesting depth of mappings and sequences, checked while scanning and composing

Path = tuple  # a path in the document: keys (str) and indices (int)

MAX_DIGITS = 100  # a whole number longer than this is refused (every storyboard number is far smaller)


@dataclass
class Document:
    """Plain values plus where each came from: marks[path] = (line, column), 1-based."""

    data: object
    file: str
    marks: dict = field(default_factory=dict)  # value positions
    key_marks: dict = field(default_factory=dict)  # positions of mapping keys
    quoted: set = field(default_factory=set)  # paths of values written in quotes ('15' is text, 15 a number)

    def where(self, path: Path, key: bool = False) -> tuple[int, int]:
        """The closest known position for `path` (falls back to the parent's)."""
        table = self.key_marks if key else self.marks
        path = tuple(path)
        while path:
            if path in table:
                return table[path]
            if path in self.marks:
                return self.marks[path]
            path = path[:-1]
        return self.marks.get((), (1, 1))


class YamlProblems(Exception):
    """Internal: problems found while loading; the spec loader turns them into a SpecError.

    `document` is the rest of the document when the problems were only in some values (a
    refused tag, a duplicate key, a non-finite number: those values are left out), so later
    checks can still report their own problems; it is None when the text could not be read.
    """

    def __init__(self, problems: list[Problem], document: Document | None = None):
        self.problems = problems
        self.document = document
        super().__init__(problems[0].format() if problems else "")


def format_path(path: Path) -> str:
    """`('segments', 1, 'easing')` -> `segments[1].easing`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _tag(tag: str) -> str:
    """A tag as it is written: `!!python/name:os.system`, not its long form."""
    return "!!" + tag[len(TAG):] if tag.startswith(TAG) else tag


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Alias(yaml.Node):
    """An alias as written (`*name`): the anchored node plus where this use of it is."""

    id = "alias"

    def __init__(self, target: yaml.Node, start_mark, end_mark):
        super().__init__(target.tag, target, start_mark, end_mark)


class _TooDeep(Exception):
    def __init__(self, mark):
        self.mark = mark


class _DepthComposer(yaml.composer.Composer):
    """PyYAML's composer with a depth bound and aliases kept visible, over either event source.

    The composer recurses once per nesting level, so `[[[[...` 50,000 levels deep would take
    seconds to hit Python's recursion limit; here it stops at MAX_DEPTH right away. Aliases are
    returned as `_Alias` nodes so the builder can count their expansion and place errors at them.
    """

    _depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            target = super().compose_node(parent, index)
            return _Alias(target, event.start_mark, event.end_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Loader(_DepthComposer, yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, CoreResolver):
    """The reference loader (pure Python): every document it refuses is refused, with PyYAML's
    messages, and its scanner refuses the 65th open flow bracket as it is scanned."""

    def __init__(self, stream):
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        CoreResolver.__init__(self)

    def fetch_flow_collection_start(self, TokenClass):
        # The scanner looks up to 1024 characters ahead for simple keys and checks every open
        # flow level on each token: `[[[[...` costs quadratic time before the composer sees
        # any depth. Refuse the 65th open bracket here, as it is scanned.
        if self.flow_level >= MAX_DEPTH:
            raise _TooDeep(self.get_mark())
        super().fetch_flow_collection_start(TokenClass)


class _Fallback(Exception):
    """libyaml's reading may differ from the reference loader's here: use the reference."""


# libyaml (PyYAML's C extension) reads a long storyboard several times faster, but not always as
# PyYAML does: it takes tabs, tags and complex keys in places PyYAML refuses them, and places an
# empty value one column later. So it is used only for documents without those features (any of
# these characters, a document marker, an empty value), and only when it composes them cleanly;
# everything else goes to the reference loader. tests/spec/test_yamlload.py compares the two on
# thousands of mutated storyboards.
_FAST_GATE = re.compile(r"[\t!?%&*|>@`\r\ufeff]|^(?:---|\.\.\.)", re.MULTILINE)
_FastLoader: type | None = None
if getattr(yaml, "__with_libyaml__", False):
    from yaml.cyaml import CParser  # type: ignore[attr-defined]  # types-PyYAML's cyaml does not re-export it

    class _CLoader(_DepthComposer, CParser, CoreResolver):
        def __init__(self, stream):
            CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            CoreResolver.__init__(self)

        def compose_scalar_node(self, anchor):
            node = super().compose_scalar_node(anchor)
            if node.value == "" and node.style in ("", None):
                raise _Fallback()
            node.style = node.style or None  # libyaml calls a plain scalar's style "", PyYAML None
            return node

    _FastLoader = _CLoader


def _compose(text: str) -> yaml.Node | None:
    """The document's node tree: through libyaml where it reads exactly as PyYAML (see above),
    else through the reference loader, which raises any problem with the messages this module
    words for people."""
    if _FastLoader is not None and not _FAST_GATE.search(text) and not yaml.reader.Reader.NON_PRINTABLE.search(text):
        try:
            return _FastLoader(text).get_single_node()
        except Exception:  # noqa: BLE001, S110 - whatever it is, the reference loader says it properly
            pass
    loader = _Loader(text)  # the reader refuses control characters here
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


class _Builder:
    """Turns a composed node graph into plain values, collecting every problem."""

    def __init__(self, file: str):
        self.file = file
        self.doc = Document(data=None, file=file)
        self.problems: list[Problem] = []
        self.visited = 0  # every node built, aliases counted each time they are used
        self.expanded = 0  # nodes built inside alias expansions
        self.active: set[int] = set()  # ids of the nodes being built (to catch an alias to itself)
        self.alias_use: tuple = ()  # (alias node, path) of the outermost alias being expanded

    def problem(self, node: yaml.Node, path: Path, message: str, hint: str = "") -> None:
        line, col = _mark(node)
        self.problems.append(Problem(self.file, line, col, format_path(path), message, hint))

    def count(self, node: yaml.Node, path: Path, aliased: bool) -> None:
        self.visited += 1
        if aliased:
            self.expanded += 1
            if self.expanded > MAX_ALIAS_NODES:
                alias, alias_path = self.alias_use
                raise _Abort(alias, alias_path, f"aliases expand to more than {MAX_ALIAS_NODES:,} values",
                             "anchors and aliases may not multiply the document")
        if self.visited > MAX_NODES:
            raise _Abort(node, path, f"the document has more than {MAX_NODES:,} values",
                         "a storyboard is a small text file")

    def build(self, node: yaml.Node, path: Path, depth: int, aliased: bool = False) -> object:
        if isinstance(node, _Alias):
            self.doc.marks.setdefault(path, _mark(node))  # the alias itself: where it is used
            target = node.value
            if id(target) in self.active:
                raise _Abort(node, path, "an alias refers to the value that contains it",
                             "a storyboard cannot contain itself")
            if not aliased:
                self.alias_use = (node, path)
            return self.build(target, path, depth, aliased=True)
        self.count(node, path, aliased)
        if depth > MAX_DEPTH:
            raise _Abort(node, path, f"nesting deeper than {MAX_DEPTH} levels", "")
        self.doc.marks.setdefault(path, _mark(node))
        if isinstance(node, yaml.ScalarNode):
            if node.style in ("'", '"'):
                self.doc.quoted.add(path)
            return self.scalar(node, path)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                if node.tag != TAG + "seq":
                    self.problem(node, path, f"tag '{_tag(node.tag)}' is not allowed", "storyboards use plain YAML only")
                    return None
                return [self.build(child, path + (i,), depth + 1, aliased) for i, child in enumerate(node.value)]
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, path, depth, aliased)
        finally:
            self.active.discard(id(node))
        self.problem(node, path, "unsupported YAML node")
        return None

    def mapping(self, node: yaml.MappingNode, path: Path, depth: int, aliased: bool) -> dict:
        if node.tag != TAG + "map":
            self.problem(node, path, f"tag '{_tag(node.tag)}' is not allowed", "storyboards use plain YAML only")
            return {}
        result: dict = {}
        for key_node, value_node in node.value:
            self.count(key_node, path, aliased)
            if key_node.tag == TAG + "merge":
                self.problem(key_node, path, "merge keys ('<<') are not supported",
                             "put shared values in `defaults:` instead")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, path, "mapping keys must be plain text",
                             "a key here is an alias, a list or a mapping")
                continue
            key = self.scalar(key_node, path)
            if not isinstance(key, str):
                key = key_node.value  # keys are names: `1` and `on` stay strings
            if key in result:
                first = self.doc.key_marks.get(path + (key,), (0, 0))
                self.problem(key_node, path + (key,), f"duplicate key '{key}'",
                             f"first defined at line {first[0]}")
                continue
            self.doc.key_marks[path + (key,)] = _mark(key_node)
            result[key] = self.build(value_node, path + (key,), depth + 1, aliased)
        return result

    def scalar(self, node: yaml.ScalarNode, path: Path) -> object:
        tag, text = node.tag, node.value
        if tag == TAG + "str":
            return text
        if tag == TAG + "null":
            return None
        if tag == TAG + "bool":
            if text in TRUE:
                return True
            if text in FALSE:
                return False
            return text  # `!!bool yes`: YAML 1.1's yes/no/on/off stay strings, as in YAML 1.2
        if tag == TAG + "int":
            return self.integer(node, path, text)
        if tag == TAG + "float":
            if NONFINITE_RE.match(text):
                self.problem(node, path, f"non-finite number '{text}' is not allowed", "use a finite number")
                return None
            if INT_RE.match(text) and not text.startswith(("0o", "0x")):
                text += ".0"  # `!!float 5`
            if FLOAT_RE.match(text):
                value = float(text)
                if not math.isfinite(value):
                    self.problem(node, path, f"number '{node.value}' is too large", "use a finite number")
                    return None
                return value
            self.problem(node, path, f"'{text}' is not a number", "write a decimal number such as 0.5, without a tag")
            return None
        if tag == TAG + "timestamp":
            return text  # `!!timestamp 2024-01-01`: keep the text, the schema decides
        self.problem(node, path, f"tag '{_tag(tag)}' is not allowed", "storyboards use plain YAML only")
        return None

    def integer(self, node: yaml.ScalarNode, path: Path, text: str) -> int | None:
        """A YAML 1.2 integer: decimal (leading zeros are decimal too: 010 is 10), 0o octal, 0x hex."""
        if not INT_RE.match(text):  # only with an explicit `!!int` tag
            self.problem(node, path, f"'{text}' is not a whole number", "write it in decimal digits, such as 10")
            return None
        if len(text) > MAX_DIGITS:
            self.problem(node, path, f"number '{text[:12]}...' has {len(text)} digits", "use a smaller number")
            return None
        if text.startswith(("0o", "0x")):
            return int(text[2:], 8 if text[1] == "o" else 16)
        return int(text)


class _Abort(Exception):
    def __init__(self, node: yaml.Node, path: Path, message: str, hint: str):
        self.node, self.path, self.message, self.hint = node, path, message, hint


def _too_big(size: int, file: str) -> YamlProblems:
    return YamlProblems([Problem(file, 1, 1, "", f"file is {size:,} bytes, over the {MAX_BYTES:,}-byte limit",
                                 "a storyboard is a small text file")])


def _line_col(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of a character index."""
    index = max(0, min(index, len(text)))
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


_BRACKETS = {"flow mapping": ("{", "}"), "flow sequence": ("[", "]")}
_GOT = re.compile(r"but (?:got|found) '(.+)'$")


def _unclosed(exc: yaml.MarkedYAMLError, file: str) -> Problem | None:
    """An unclosed bracket or quote, reported where it opens (PyYAML reports where it gave up)."""
    context, mark, where = exc.context or "", exc.context_mark, exc.problem_mark
    if mark is None or where is None:
        return None
    got = _GOT.search(exc.problem or "")
    found = "the end of the file" if got and got.group(1) == "<stream end>" else (
        f"'{got.group(1)}'" if got else "something else")
    at = f"line {where.line + 1}, column {where.column + 1}"
    for kind, (opener, closer) in _BRACKETS.items():
        if context == f"while parsing a {kind}":
            return Problem(file, mark.line + 1, mark.column + 1, "",
                           f"invalid YAML: this '{opener}' is never closed: {found} at {at} "
                           f"comes where ',' or '{closer}' should",
                           f"add the missing '{closer}'")
    if context == "while scanning a quoted scalar":
        return Problem(file, mark.line + 1, mark.column + 1, "",
                       f"invalid YAML: this quoted text is never closed (the file ends at {at})",
                       "add the closing quote")
    return None


def _syntax_problem(exc: yaml.YAMLError, text: str, file: str) -> Problem:
    """One line for a YAML syntax error, at its position."""
    if isinstance(exc, yaml.reader.ReaderError):
        line, col = _line_col(text, exc.position)
        char = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        return Problem(file, line, col, "", f"invalid YAML: character {char} is not allowed in a YAML file",
                       "remove control characters, or write them as escapes inside double quotes")
    unclosed = _unclosed(exc, file) if isinstance(exc, yaml.MarkedYAMLError) else None
    if unclosed is not None:
        return unclosed
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = exc.problem or "syntax error"
        if exc.context:
            message = f"{message} ({exc.context})" if "while" in exc.context else f"{exc.context}: {message}"
        return Problem(file, line, col, "", f"invalid YAML: {' '.join(message.split())}")
    return Problem(file, 1, 1, "", f"invalid YAML: {' '.join(str(exc).split())}")


def load_document(text: str | bytes, file: str) -> Document:
    """Parse one YAML document into plain values with marks; raise YamlProblems on any problem."""
    # 1. Size and encoding (the size is checked before anything else looks at the text).
    if len(text) > MAX_BYTES:
        raise _too_big(len(text), file)
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            before = exc.object[: exc.start].decode("utf-8")  # valid up to the first bad byte
            line, col = _line_col(before, len(before))
            raise YamlProblems([Problem(file, line, col, "", f"not UTF-8 text: {exc.reason} (byte {exc.start})",
                                        "save the file as UTF-8")]) from None
    else:
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_BYTES:
            raise _too_big(size, file)

    # 2. Compose (parse to nodes, never construct objects), refusing deep nesting on the way.
    try:
        node = _compose(text)
    except _TooDeep as exc:
        line, col = exc.mark.line + 1, exc.mark.column + 1
        raise YamlProblems([Problem(file, line, col, "", f"nesting deeper than {MAX_DEPTH} levels",
                                    "a storyboard needs only a few levels")]) from None
    except yaml.YAMLError as exc:
        raise YamlProblems([_syntax_problem(exc, text, file)]) from None
    except RecursionError:  # pragma: no cover - the depth bound comes first
        raise YamlProblems([Problem(file, 1, 1, "", "nesting is far too deep")]) from None

    # 3. Build values, collecting every problem.
    builder = _Builder(file)
    if node is None:
        raise YamlProblems([Problem(file, 1, 1, "", "the file is empty", "a storyboard starts with `version: 1`")])
    try:
        builder.doc.data = builder.build(node, (), 0)
    except _Abort as abort:
        line, col = _mark(abort.node)
        raise YamlProblems(builder.problems + [
            Problem(file, line, col, format_path(abort.path), abort.message, abort.hint)]) from None
    if builder.problems:
        raise YamlProblems(builder.problems, builder.doc)
    return builder.doc
