"""Reading YAML with the position of every key and value, and the diagnostics collected on the way.

The YAML is read from the parser's *event* stream (libyaml when available) by a small iterative
builder rather than ``yaml.load``: it records the position of every key and value, and it is safe
on hostile input: aliases are rejected (no billion laughs), nesting is capped (no stack overflow
in a recursive composer), duplicate keys and non-standard tags are errors. Each string scalar is
interpolated (``${VAR}``, see ``reconciler.engine.interpolate``) as it is read, and unset variables are
recorded by path for the validation to judge.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import yaml

from reconciler.engine.interpolate import InterpolationError, interpolate

MAX_DEPTH = 64
MAX_DIAGNOSTICS = 500

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_USING_LIBYAML = _LOADER is not yaml.SafeLoader

Pos = tuple[int, int]  # 1-based (line, column)


# --------------------------------------------------------------------------------------- diagnostics


class Diagnostics:
    def __init__(self, path: str):
        self.path = path
        self.errors: list[tuple[int, int, str]] = []
        self.warnings: list[tuple[int, int, str]] = []
        self._seen: set[tuple[int, int, str]] = set()

    def error(self, pos: Pos | None, message: str) -> None:
        line, col = pos or (1, 1)
        item = (line, col, message)
        if item not in self._seen:
            self._seen.add(item)
            self.errors.append(item)

    def warning(self, pos: Pos | None, message: str) -> None:
        line, col = pos or (1, 1)
        item = (line, col, message)
        if item not in self.warnings:
            self.warnings.append(item)

    def _fmt(self, items: list[tuple[int, int, str]]) -> list[str]:
        return [f"{self.path}:{line}:{col}: {msg}" for line, col, msg in sorted(items, key=lambda i: (i[0], i[1]))]

    def render(self) -> list[str]:
        out = self._fmt(self.errors)
        if len(out) > MAX_DIAGNOSTICS:
            more = len(out) - MAX_DIAGNOSTICS
            out = out[:MAX_DIAGNOSTICS] + [f"{self.path}: ... and {more} more problem(s) not shown"]
        return out or [f"{self.path}: invalid configuration"]

    def rendered_warnings(self) -> tuple[str, ...]:
        return tuple(self._fmt(self.warnings))


def offset_position(data: bytes, offset: int) -> Pos:
    """1-based (line, column in characters) of a byte offset."""
    before = data[:offset].decode("utf-8", errors="replace")
    return text_position(before, len(before))


def text_position(text: str, index: int) -> Pos:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def indent_tab(text: str, line: int) -> Pos | None:
    """Where a tab sits in the indentation of ``line`` (1-based) or the line before, if one does: YAML
    forbids tabs there and PyYAML's own message ("cannot start any token") does not say so."""
    lines = text.splitlines()
    for n in (line, line - 1):
        if 1 <= n <= len(lines):
            body = lines[n - 1]
            indent = body[:len(body) - len(body.lstrip(" \t"))]
            if "\t" in indent:
                return (n, indent.index("\t") + 1)
    return None


def short(value: Any, limit: int = 60) -> str:
    text = repr(value) if not isinstance(value, bool | type(None)) else json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_KINDS = ((type(None), "null"), (bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string"),
          (list, "a list"), (dict, "a mapping"))  # bool before int: a bool is an int


def kind(value: Any) -> str:
    return next((word for cls, word in _KINDS if isinstance(value, cls)), type(value).__name__)


# --------------------------------------------------------------------------------------- YAML -> values

# a query parameter that carries a signature or token (S3, GCS, Azure SAS, CloudFront...)
_SIGNED_QUERY = re.compile(r"(?i)[?&](x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|"
                           r"x-goog-credential|signature|sig|token|access_token|key-pair-id|policy)=[^&\s$]")


def unencodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


_ALIAS = object()  # placeholder value for an alias (already reported)
_BADKEY = object()  # a key that is not a scalar string (already reported)
_NOKEY = object()

_YAML_TAG = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT = (_YAML_TAG + t for t in ("str", "null", "bool", "int", "float"))
_AS_TEXT = {_YAML_TAG + t for t in ("timestamp", "merge", "value")}  # implicitly resolved: keep the text
_MAP_TAGS = {None, "!", _YAML_TAG + "map"}
_SEQ_TAGS = {None, "!", _YAML_TAG + "seq"}


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_YAML_TAG):] if tag.startswith(_YAML_TAG) else tag


class _Frame:
    __slots__ = ("value", "path", "key", "key_pos", "is_map")

    def __init__(self, value, path, is_map):
        self.value = value
        self.path = path  # None: inside something discarded (a complex key)
        self.is_map = is_map
        self.key: Any = _NOKEY
        self.key_pos: Pos | None = None


class Document:
    """The parsed values plus where each one is."""

    def __init__(self):
        self.root: Any = None
        self.pos: dict[tuple, Pos] = {}  # path -> position of the value
        self.key_pos: dict[tuple, Pos] = {}  # path -> position of its key (mapping members)
        self.missing: dict[tuple, tuple[str, ...]] = {}  # path -> unset ${VAR}s in that string
        self.skip: set[tuple] = set()  # paths already reported (aliases): no schema errors there
        self.raw: dict[tuple, str] = {}  # path -> the string as written, for values holding ${VAR}s

    def at(self, path: tuple) -> Pos:
        """The position of ``path``, or of its nearest located ancestor."""
        p = tuple(path)
        while p:
            pos = self.pos.get(p)
            if pos is not None:
                return pos
            p = p[:-1]
        return self.pos.get((), (1, 1))

    def key_at(self, path: tuple) -> Pos:
        return self.key_pos.get(tuple(path)) or self.at(path)


API_KEY_VARS = frozenset({"TAVUS_API_KEY"})
# fields whose ${VAR} values are identities shown by every command, not secrets (the loader adds each kind's:
# reconciler.engine.rule_hooks.identity_keys)
IDENTITY_KEYS = frozenset({"name", "name_prefix"})
# the words of the messages that show what a file looks like (the loader passes each kind's: FILE_HINTS)
HINTS = {"example": "<kind>: [...]", "alias": "write the value out"}


class Builder:
    def __init__(self, text: str, diags: Diagnostics, environ: Mapping[str, str], *,
                 identity_keys: frozenset[str] = IDENTITY_KEYS, hints: Mapping[str, str] | None = None):
        self.text = text
        self.diags = diags
        self.environ = environ
        self.identity_keys = identity_keys
        self.hints = {**HINTS, **(hints or {})}
        self.doc = Document()
        self._resolver = yaml.resolver.Resolver()
        self._constructor = yaml.constructor.SafeConstructor()

    def build(self) -> Document | None:
        """The document, or None after a fatal error (already reported)."""
        try:
            ok = self._run()
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            pos = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            problem = e.problem or e.context or "cannot parse"
            if e.context and e.problem and "while" in e.context:
                problem = f"{problem} ({e.context})"
            tab = indent_tab(self.text, pos[0])
            if tab is not None:
                self.diags.error(tab, "tabs are not allowed for indentation: indent with spaces")
                return None
            self.diags.error(pos, f"invalid YAML: {problem}")
            return None
        except yaml.reader.ReaderError as e:
            if _USING_LIBYAML:
                pos = offset_position(self.text.encode("utf-8"), e.position)
            else:
                pos = text_position(self.text, e.position)
            what = f"#x{e.character:04x}" if isinstance(e.character, int) else repr(e.character)
            self.diags.error(pos, f"invalid YAML: unacceptable character {what}: {e.reason}")
            return None
        except yaml.YAMLError as e:  # anything else the parser raises
            self.diags.error((1, 1), f"invalid YAML: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
            return None
        if not ok:
            return None
        root = self.doc.root
        if root is None:
            self.diags.error((1, 1), f"the file is empty (expected version: 1 and {self.hints['example']})")
            return None
        if not isinstance(root, dict):
            self.diags.error(self.doc.pos.get((), (1, 1)),
                             f"the top level must be a mapping (version: 1, {self.hints['example']}), not {kind(root)}")
            return None
        return self.doc

    @staticmethod
    def _pos(event) -> Pos:
        m = event.start_mark
        return (m.line + 1, m.column + 1)

    def _run(self) -> bool:
        stack: list[_Frame] = []
        documents = 0
        for event in yaml.parse(self.text, Loader=_LOADER):
            cls = type(event)
            if cls is yaml.ScalarEvent:
                self._scalar(stack, event)
            elif cls is yaml.MappingStartEvent or cls is yaml.SequenceStartEvent:
                if not self._start(stack, event, cls is yaml.MappingStartEvent):
                    return False
            elif cls is yaml.MappingEndEvent or cls is yaml.SequenceEndEvent:
                frame = stack.pop()
                self._add(stack, frame.value, frame.path)
            elif cls is yaml.AliasEvent:
                self._alias(stack, event)
            elif cls is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    self.diags.error(self._pos(event), "the file holds more than one YAML document (a second "
                                                       "one starts here); put everything in one document")
                    return False
        return True

    def _start(self, stack: list[_Frame], event, is_map: bool) -> bool:
        """A mapping or a sequence begins: its frame, or False (an error) when it nests too deep."""
        pos = self._pos(event)
        if len(stack) >= MAX_DEPTH:
            self.diags.error(pos, f"the file is nested deeper than {MAX_DEPTH} levels")
            return False
        path = self._child_path(stack, pos)
        if path is not None:
            self.doc.pos[path] = pos
        if event.tag not in (_MAP_TAGS if is_map else _SEQ_TAGS):
            self.diags.error(pos, f"unsupported YAML tag {_tag_name(event.tag)}")
            if path is not None:
                self.doc.skip.add(path)
        stack.append(_Frame({} if is_map else [], path, is_map))
        return True

    def _alias(self, stack: list[_Frame], event) -> None:
        pos = self._pos(event)
        self.diags.error(pos, f"YAML aliases (*name) are not supported: {self.hints['alias']}")
        path = self._child_path(stack, pos)
        if path is not None:
            self.doc.pos[path] = pos
            self.doc.skip.add(path)
        self._add(stack, _ALIAS, path)

    def _child_path(self, stack: list[_Frame], pos: Pos) -> tuple | None:
        if not stack:
            return ()
        top = stack[-1]
        if top.path is None:
            return None
        if not top.is_map:
            return top.path + (len(top.value),)
        if top.key is _NOKEY:  # a collection used as a mapping key
            self.diags.error(pos, "a mapping key must be a plain string, not a list or mapping")
            return None
        if top.key is _BADKEY:
            return None
        return top.path + (top.key,)

    def _add(self, stack: list[_Frame], value: Any, path: tuple | None) -> None:
        if not stack:
            self.doc.root = None if value is _ALIAS else value
            return
        top = stack[-1]
        if not top.is_map:
            top.value.append(None if value is _ALIAS else value)
            return
        if top.key is _NOKEY:  # this value is a key
            top.key = value if isinstance(value, str) else _BADKEY
            return
        key, top.key = top.key, _NOKEY
        if key is _BADKEY or top.path is None:
            return
        container = top.value
        if key in container:
            first = self.doc.key_pos.get(top.path + (key,), (0, 0))
            self.diags.error(top.key_pos, f"duplicate key {short(key)} (first at line {first[0]})")
            return
        container[key] = None if value is _ALIAS else value

    def _scalar(self, stack: list[_Frame], event) -> None:
        pos = self._pos(event)
        top = stack[-1] if stack else None
        is_key = top is not None and top.is_map and top.key is _NOKEY
        value = self._construct(event, pos)
        if is_key:
            assert top is not None
            top.key_pos = pos
            if value is not _BADKEY:
                value = event.value  # keys are text as written: `1:` and `true:` are unknown fields '1', 'true'
                if top.path is not None and value not in top.value:
                    self.doc.key_pos[top.path + (value,)] = pos
            self._add(stack, value, None)
            return
        path = self._child_path(stack, pos)
        if path is not None:
            self.doc.pos[path] = pos
            if value is _BADKEY:
                self.doc.skip.add(path)
            elif isinstance(value, str) and "$" in value:
                value = self._interpolated(pos, path, value)
            if isinstance(value, str) and _SIGNED_QUERY.search(event.value):
                self.diags.warning(pos, "a presigned URL is written in the file: its signature is a secret that "
                                        "ends up in git; put the URL in an environment variable and write "
                                        "${VAR} here")
        self._add(stack, None if value is _BADKEY else value, path)

    def _interpolated(self, pos: Pos, path: tuple, value: str) -> str:
        """A scalar holding ``$``: its ``${VAR}`` resolved (the raw text kept, what is unset noted, every value
        from the environment registered as a secret); a located error skips it."""
        self.doc.raw[path] = value
        used: list[tuple[str, str | None]] = []
        try:
            value, missing = interpolate(value, self.environ, used=used)
        except InterpolationError as e:
            self.diags.error(pos, str(e))
            self.doc.skip.add(path)
            return value
        if self._env_secrets(pos, path, used):
            self.doc.skip.add(path)
            value = ""
        if missing:
            self.doc.missing[path] = missing
        elif unencodable(value):
            # an environment value holding bytes that are not UTF-8 (Python keeps them as lone
            # surrogates): it could be neither sent nor shown
            self.diags.error(pos, "a ${VAR} used here holds bytes that are not UTF-8 text: fix the "
                                  "variable's value (e.g. re-export it from a UTF-8 source)")
            self.doc.skip.add(path)
            value = ""
        return value

    def _env_secrets(self, pos: Pos, path: tuple, used: list[tuple[str, str | None]]) -> bool:
        """Issue 24: every value that came from the environment is a secret, whatever its key (an LLM
        ``Authorization`` header, a presigned URL, a prompt): registered with ``reconciler.api.redact`` so no output,
        log or saved plan can show it. Names and ids (identities every command shows, and plain names in the
        Tavus dashboard) are the exception. The Tavus API key itself has no place in the file: True (an error,
        reported here) when it is referenced."""
        from reconciler.api.redact import register_secret

        if any(name in API_KEY_VARS for name, _ in used):
            self.diags.error(pos, "${TAVUS_API_KEY} is the Tavus API key: the file must not reference it (it would be "
                                  "sent to Tavus or a third party as a field value); use a variable of its own")
            return True
        if not (path and path[-1] in self.identity_keys) and not (path and path[0] == "removed"):
            for _name, secret in used:
                register_secret(secret)
        return False

    def _construct(self, event, pos: Pos) -> Any:
        tag = event.tag
        value = event.value
        if tag is None or tag == "!":
            tag = self._resolver.resolve(yaml.ScalarNode, value, event.implicit)
        if tag == _STR or tag in _AS_TEXT:
            return value
        if tag == _NULL:
            return None
        node = yaml.ScalarNode(tag, value)
        try:
            if tag == _BOOL:
                return self._constructor.construct_yaml_bool(node)
            if tag == _INT:
                return self._constructor.construct_yaml_int(node)
            if tag == _FLOAT:
                return self._constructor.construct_yaml_float(node)
        except Exception:  # noqa: BLE001 - any value the constructor cannot read is a located error
            self.diags.error(pos, f"invalid {_tag_name(tag)} value {short(value)}")
            return _BADKEY
        self.diags.error(pos, f"unsupported YAML tag {_tag_name(tag)}")
        return _BADKEY

