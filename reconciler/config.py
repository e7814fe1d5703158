"""Loading the desired-state file: YAML -> located values -> JSON Schema + semantic checks -> ``Config``.

Every problem is reported as ``FILE:LINE:COL: message`` (1-based), all at once, sorted by position.

The YAML is read from the parser's *event* stream (libyaml when available) by a small iterative
builder rather than ``yaml.load``: it records the position of every key and value, and it is safe
on hostile input: aliases are rejected (no billion laughs), nesting is capped (no stack overflow
in a recursive composer), duplicate keys and non-standard tags are errors, and the file is capped
at 5 MB.
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from reconciler.errors import ConfigError
from reconciler.models import MODELS, PROPERTIES, Config, DesiredReplica, Settings
from reconciler.redact import CONTROL_CHARS, is_invisible

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64
MAX_DIAGNOSTICS = 500

SCHEMA_FILE = "replicas.schema.json"

REPLICA_FIELDS = ("name", "replica_id", "train_video_url", "train_image_url", "voice_name", "consent_video_url",
                  "callback_url", "synthetic", "model_name", "protect", "consent_in_training_video", "properties")
DEFAULT_FIELDS = tuple(f for f in REPLICA_FIELDS if f not in ("name", "replica_id"))
URL_FIELDS = ("train_video_url", "train_image_url", "consent_video_url", "callback_url")
TRAINING_FIELDS = ("train_video_url", "train_image_url")
IDENTITY_FIELDS = ("name", "replica_id")

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_USING_LIBYAML = _LOADER is not yaml.SafeLoader

Pos = tuple[int, int]  # 1-based (line, column)


# --------------------------------------------------------------------------------------- schemas


@functools.cache
def load_schema(filename: str) -> dict:
    """A JSON Schema shipped in ``schemas/`` (installed as the package ``reconciler.schemas``)."""
    resource = importlib.resources.files("reconciler.schemas").joinpath(filename)
    return json.loads(resource.read_text(encoding="utf-8"))


def _inline_refs(node: Any, defs: dict) -> Any:
    """The schema with its local ``#/$defs/...`` references inlined (validating is ~2x faster without $ref)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and len(node) == 1:
            return _inline_refs(defs[ref[len("#/$defs/"):]], defs)
        return {k: _inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    return node


class _SchemaValidators:
    """Validators for the replicas schema: the document without its entries, one entry, and each string field.

    A file with thousands of replicas validates each entry *shape* once: string fields whose value the
    field's own schema accepts are replaced by a placeholder the field also accepts, so entries that differ
    only in names and URLs share one validation. Entries that are not known valid are validated in full.
    """

    _PLACEHOLDER = "x"

    def __init__(self):
        from jsonschema import Draft202012Validator

        schema = _inline_refs(load_schema(SCHEMA_FILE), load_schema(SCHEMA_FILE).get("$defs", {}))
        entry_schema = schema["properties"]["replicas"].pop("items")
        self.document = Draft202012Validator(schema)
        self.entry = Draft202012Validator(entry_schema)
        self.fields: dict[str, Any] = {}  # field -> None (any string is valid) or a validator for its value
        for key, sub in entry_schema.get("properties", {}).items():
            if sub.get("type") == "string" and not {"enum", "const"} & set(sub):
                constrained = {"minLength", "maxLength", "pattern", "format"} & set(sub)
                self.fields[key] = Draft202012Validator(sub) if constrained else None
        self._valid_shapes: set = set()

    def _shape(self, entry: dict) -> tuple | None:
        items = []
        for key, value in entry.items():
            if isinstance(value, str) and key in self.fields:
                check = self.fields[key]
                if check is None or check.is_valid(value):
                    items.append((key, "str", self._PLACEHOLDER))
                    continue
                return None
            if isinstance(value, str | int | float | bool) or value is None:
                items.append((key, type(value).__name__, value))
            else:
                return None
        return tuple(sorted(items, key=lambda i: i[0]))

    def iter_errors(self, root: Any):
        """(absolute path, error) for every schema error in the document."""
        for error in self.document.iter_errors(root):
            yield tuple(error.absolute_path), error
        replicas = root.get("replicas") if isinstance(root, dict) else None
        if not isinstance(replicas, list):
            return
        for i, entry in enumerate(replicas):
            shape = self._shape(entry) if isinstance(entry, dict) else None
            if shape is not None and shape in self._valid_shapes:
                continue
            errors = list(self.entry.iter_errors(entry))
            if not errors and shape is not None:
                self._valid_shapes.add(shape)
            for error in errors:
                yield ("replicas", i, *error.absolute_path), error


@functools.cache
def _validators() -> _SchemaValidators:
    return _SchemaValidators()


# --------------------------------------------------------------------------------------- entry points


def load_config(path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate the replicas file at ``path``. Raises ConfigError with every problem found."""
    shown = str(path)
    p = Path(path)
    try:
        with p.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError([f"{shown}: no such file"]) from None
    except IsADirectoryError:
        raise ConfigError([f"{shown}: is a directory, not a replicas file"]) from None
    except PermissionError:
        raise ConfigError([f"{shown}: cannot read the file (permission denied)"]) from None
    except OSError as e:
        raise ConfigError([f"{shown}: cannot read the file ({e.strerror or type(e).__name__})"]) from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError([f"{shown}: the file is too large (over {MAX_FILE_BYTES // (1024 * 1024)} MB)"])
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ConfigError([f"{shown}:1:1: the file is UTF-16 text; save it as UTF-8"])
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _offset_position(data, nul)
        raise ConfigError([f"{shown}:{line}:{col}: the file looks binary (it contains a NUL byte), not YAML"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line, col = _offset_position(data, e.start)
        raise ConfigError([f"{shown}:{line}:{col}: the file is not UTF-8 text "
                           f"(invalid byte 0x{data[e.start]:02x}); save it as UTF-8"]) from None
    return parse_config(text, shown, environ=environ)


def parse_config(text: str, path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None) -> Config:
    """Validate ``text`` (the content of the file ``path``) and build the Config. Raises ConfigError."""
    shown = str(path)
    env = os.environ if environ is None else environ
    diags = _Diagnostics(shown)
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as e:
        line, col = _text_position(text, e.start)
        raise ConfigError([f"{shown}:{line}:{col}: the file is not valid Unicode text"]) from None
    if size > MAX_FILE_BYTES:
        raise ConfigError([f"{shown}: the file is too large (over {MAX_FILE_BYTES // (1024 * 1024)} MB)"])
    nul = text.find("\x00")
    if nul >= 0:
        line, col = _text_position(text, nul)
        raise ConfigError([f"{shown}:{line}:{col}: the file looks binary (it contains a NUL byte), not YAML"])

    doc = _Builder(text, diags, env).build()
    if doc is None:  # fatal: nothing more can be checked
        raise ConfigError(diags.render())
    _check_schema(doc, diags)
    config = _Semantics(doc, diags, shown, text).run()
    if diags.errors or config is None:
        raise ConfigError(diags.render())
    return config


# --------------------------------------------------------------------------------------- diagnostics


class _Diagnostics:
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


def _offset_position(data: bytes, offset: int) -> Pos:
    """1-based (line, column in characters) of a byte offset."""
    before = data[:offset].decode("utf-8", errors="replace")
    return _text_position(before, len(before))


def _text_position(text: str, index: int) -> Pos:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _indent_tab(text: str, line: int) -> Pos | None:
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


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value) if not isinstance(value, bool | type(None)) else json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_KINDS = ((type(None), "null"), (bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string"),
          (list, "a list"), (dict, "a mapping"))  # bool before int: a bool is an int


def _kind(value: Any) -> str:
    return next((word for cls, word in _KINDS if isinstance(value, cls)), type(value).__name__)


# --------------------------------------------------------------------------------------- ${VAR}

_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class _InterpolationError(ValueError):
    pass


def interpolate(value: str, environ: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    """Resolve ``${VAR}`` and ``${VAR:-default}`` in ``value``; ``$${`` is a literal ``${``.

    Returns (resolved text, unset variables). When a variable without a default is unset, the raw text is
    returned unchanged (with ``$${`` kept as written) and the variable is listed. Raises _InterpolationError
    for a malformed ``${``.
    """
    if "$" not in value:
        return value, ()
    out: list[str] = []
    missing: list[str] = []
    i, n = 0, len(value)
    while i < n:
        j = value.find("$", i)
        if j < 0:
            out.append(value[i:])
            break
        out.append(value[i:j])
        if value.startswith("$${", j):
            out.append("${")
            i = j + 3
            continue
        if not value.startswith("${", j):
            out.append("$")
            i = j + 1
            continue
        end = value.find("}", j + 2)
        if end < 0:
            raise _InterpolationError("unterminated ${ (write $${ for a literal ${)")
        body = value[j + 2:end]
        name, sep, default = body.partition(":-")
        if not _VAR_NAME.match(name):
            shown = _short("${" + body + "}", 40)
            raise _InterpolationError(f"invalid variable reference {shown}: expected ${{NAME}} or "
                                      "${NAME:-default} where NAME is letters, digits and _ "
                                      "(write $${ for a literal ${)")
        if "${" in default:
            raise _InterpolationError(f"nested ${{...}} in the default of ${{{name}}} is not supported")
        current = environ.get(name)
        if sep:
            out.append(current if current else default)
        elif current is None:
            missing.append(name)
        else:
            out.append(current)
        i = end + 1
    if missing:
        return value, tuple(sorted(set(missing)))
    return "".join(out), ()


# --------------------------------------------------------------------------------------- YAML -> values

# a query parameter that carries a signature or token (S3, GCS, Azure SAS, CloudFront...)
_SIGNED_QUERY = re.compile(r"(?i)[?&](x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|"
                           r"x-goog-credential|signature|sig|token|access_token|key-pair-id|policy)=[^&\s$]")


def _unencodable(value: str) -> bool:
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


class _Document:
    """The parsed values plus where each one is."""

    def __init__(self):
        self.root: Any = None
        self.pos: dict[tuple, Pos] = {}  # path -> position of the value
        self.key_pos: dict[tuple, Pos] = {}  # path -> position of its key (mapping members)
        self.missing: dict[tuple, tuple[str, ...]] = {}  # path -> unset ${VAR}s in that string
        self.skip: set[tuple] = set()  # paths already reported (aliases): no schema errors there

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


class _Builder:
    def __init__(self, text: str, diags: _Diagnostics, environ: Mapping[str, str]):
        self.text = text
        self.diags = diags
        self.environ = environ
        self.doc = _Document()
        self._resolver = yaml.resolver.Resolver()
        self._constructor = yaml.constructor.SafeConstructor()

    def build(self) -> _Document | None:
        """The document, or None after a fatal error (already reported)."""
        try:
            ok = self._run()
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            pos = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            problem = e.problem or e.context or "cannot parse"
            if e.context and e.problem and "while" in e.context:
                problem = f"{problem} ({e.context})"
            tab = _indent_tab(self.text, pos[0])
            if tab is not None:
                self.diags.error(tab, "tabs are not allowed for indentation: indent with spaces")
                return None
            self.diags.error(pos, f"invalid YAML: {problem}")
            return None
        except yaml.reader.ReaderError as e:
            if _USING_LIBYAML:
                pos = _offset_position(self.text.encode("utf-8"), e.position)
            else:
                pos = _text_position(self.text, e.position)
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
            self.diags.error((1, 1), "the file is empty (expected version: 1 and replicas: [...])")
            return None
        if not isinstance(root, dict):
            self.diags.error(self.doc.pos.get((), (1, 1)),
                             f"the top level must be a mapping (version: 1, replicas: [...]), not {_kind(root)}")
            return None
        return self.doc

    @staticmethod
    def _pos(event) -> Pos:
        m = event.start_mark
        return (m.line + 1, m.column + 1)

    def _run(self) -> bool:
        doc = self.doc
        stack: list[_Frame] = []
        documents = 0
        for event in yaml.parse(self.text, Loader=_LOADER):
            cls = type(event)
            if cls is yaml.ScalarEvent:
                self._scalar(stack, event)
            elif cls is yaml.MappingStartEvent or cls is yaml.SequenceStartEvent:
                is_map = cls is yaml.MappingStartEvent
                if len(stack) >= MAX_DEPTH:
                    self.diags.error(self._pos(event), f"the file is nested deeper than {MAX_DEPTH} levels")
                    return False
                path = self._child_path(stack, self._pos(event))
                if path is not None:
                    doc.pos[path] = self._pos(event)
                if event.tag not in (_MAP_TAGS if is_map else _SEQ_TAGS):
                    self.diags.error(self._pos(event), f"unsupported YAML tag {_tag_name(event.tag)}")
                    if path is not None:
                        doc.skip.add(path)
                stack.append(_Frame({} if is_map else [], path, is_map))
            elif cls is yaml.MappingEndEvent or cls is yaml.SequenceEndEvent:
                frame = stack.pop()
                self._add(stack, frame.value, frame.path)
            elif cls is yaml.AliasEvent:
                pos = self._pos(event)
                self.diags.error(pos, "YAML aliases (*name) are not supported: write the value out "
                                      "(use defaults: for fields that replicas share)")
                path = self._child_path(stack, pos)
                if path is not None:
                    doc.pos[path] = pos
                    doc.skip.add(path)
                self._add(stack, _ALIAS, path)
            elif cls is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    self.diags.error(self._pos(event), "the file holds more than one YAML document (a second "
                                                       "one starts here); put everything in one document")
                    return False
        return True

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
            self.diags.error(top.key_pos, f"duplicate key {_short(key)} (first at line {first[0]})")
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
                try:
                    value, missing = interpolate(value, self.environ)
                except _InterpolationError as e:
                    self.diags.error(pos, str(e))
                    self.doc.skip.add(path)
                else:
                    if missing:
                        self.doc.missing[path] = missing
                    elif _unencodable(value):
                        # an environment value holding bytes that are not UTF-8 (Python keeps them as lone
                        # surrogates): it could be neither sent nor shown
                        self.diags.error(pos, "a ${VAR} used here holds bytes that are not UTF-8 text: fix the "
                                              "variable's value (e.g. re-export it from a UTF-8 source)")
                        self.doc.skip.add(path)
                        value = ""
            if isinstance(value, str) and _SIGNED_QUERY.search(event.value):
                self.diags.warning(pos, "a presigned URL is written in the file: its signature is a secret that "
                                        "ends up in git; put the URL in an environment variable and write "
                                        "${VAR} here")
        self._add(stack, None if value is _BADKEY else value, path)

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
            self.diags.error(pos, f"invalid {_tag_name(tag)} value {_short(value)}")
            return _BADKEY
        self.diags.error(pos, f"unsupported YAML tag {_tag_name(tag)}")
        return _BADKEY


# --------------------------------------------------------------------------------------- schema errors


def _label(doc: _Document, path: tuple) -> str:
    """How to name ``path`` in a message: ``acme-anna: model_name``, ``replicas[3]``, ``settings.prune``."""
    parts: list[str] = []
    rest = list(path)
    if len(rest) >= 2 and rest[0] == "replicas" and isinstance(rest[1], int):
        entry = doc.root["replicas"][rest[1]] if isinstance(doc.root.get("replicas"), list) else None
        name = entry.get("name") if isinstance(entry, dict) else None
        known = _plain_name(name) and ("replicas", rest[1], "name") not in doc.missing
        head = name if known else f"replicas[{rest[1]}]"
        rest = rest[2:]
        if not rest:
            return head
        parts.append(head + ":")
    dotted = ""
    for p in rest:
        dotted += f"[{p}]" if isinstance(p, int) else (f".{p}" if dotted else str(p))
    return " ".join(parts + [dotted]) if dotted else " ".join(parts)


def _invisible_in(name: str) -> str | None:
    """The first invisible character in ``name``, described (``U+200B ZERO WIDTH SPACE at position 3``)."""
    import unicodedata

    for i, ch in enumerate(name):
        if is_invisible(ch):
            return f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')} at position {i + 1}"
    return None


def _plain_name(name: Any) -> bool:
    """A name good enough to label messages with (the schema and semantic checks judge it properly)."""
    return isinstance(name, str) and 0 < len(name) <= 128 and name == name.strip() and not CONTROL_CHARS.search(name)


def _allowed_fields(schema: dict) -> list[str]:
    return list(schema.get("properties", {}))


def _check_schema(doc: _Document, diags: _Diagnostics) -> None:
    for path, error in _validators().iter_errors(doc.root):
        if any(path[:i] in doc.skip for i in range(len(path) + 1)):
            continue
        schema_path = set(error.schema_path)
        if path[:1] == ("replicas",) and len(path) == 2 and schema_path & {"oneOf", "then", "if", "allOf"}:
            continue  # training source / consent: reported by the semantic checks, with better words
        _report_schema_error(doc, diags, error, path)


def _report_schema_error(doc: _Document, diags: _Diagnostics, error, path: tuple) -> None:
    validator = error.validator
    instance = error.instance
    label = _label(doc, path)
    field = path[-1] if path and isinstance(path[-1], str) else None
    if validator == "additionalProperties":
        allowed = _allowed_fields(error.schema)
        for key in instance:
            if key in allowed:
                continue
            kpath = path + (key,)
            if key == "<<":
                msg = "YAML merge keys (<<) are not supported: use defaults: for fields that replicas share"
            elif path == ("defaults",) and key in IDENTITY_FIELDS:
                msg = f"unknown field {_short(key)}: defaults cannot set {key} (it is per replica)"
            else:
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}?" if close else f"expected one of: {', '.join(allowed)}"
                msg = f"unknown field {_short(key)} ({hint})"
            diags.error(doc.key_at(kpath), msg)
        return
    if validator == "required":
        missing = [f for f in error.validator_value if not (isinstance(instance, dict) and f in instance)]
        where = f"{label}: " if path else ""
        for f in missing:
            diags.error(doc.at(path), f"{where}missing required field {f!r}")
        return
    pos = doc.at(path)
    if validator == "type":
        expected = error.validator_value
        want = {"string": "a string", "boolean": "true or false", "object": "a mapping", "array": "a list",
                "integer": "an integer"}.get(expected, str(expected))
        hint = ""
        if expected == "string" and isinstance(instance, bool | int | float):
            hint = "; put it in quotes"
        elif expected == "array" and instance is None:
            hint = "; write [] for none"
        diags.error(pos, f"{label} must be {want}, not {_kind(instance)} {_short(instance)}{hint}".replace(
            " null null", " null"))
        return
    if validator == "enum":
        options = [str(o) for o in error.validator_value]
        close = difflib.get_close_matches(str(instance), options, n=1, cutoff=0.6) if isinstance(instance, str) else []
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        diags.error(pos, f"{label} must be one of {', '.join(options)}, not {_short(instance)}{hint}")
        return
    if validator == "const":
        diags.error(pos, f"{label} must be {json.dumps(error.validator_value)}, not {_short(instance)}")
        return
    if validator == "pattern" and instance == "":
        return  # reported as empty (minLength)
    if field == "name" and validator == "pattern":
        diags.error(pos, f"{label} must not start or end with whitespace: {_short(instance)}")
        return
    if field == "model_name" and validator == "pattern":
        diags.error(pos, f"{label} must be a phoenix model such as phoenix-4, not {_short(instance)}")
        return
    if field == "replica_id" and validator == "pattern":
        diags.error(pos, f"{label} {_short(instance)} is not a replica id (letters, digits, _ and - only)")
        return
    if validator == "minLength":
        diags.error(pos, f"{label} must not be empty")
        return
    if validator == "maxLength":
        diags.error(pos, f"{label} is too long ({len(instance)} characters; at most {error.validator_value})")
        return
    if validator == "anyOf" and path[:1] == ("removed",) and len(path) == 2:
        diags.error(pos, f"removed[{path[1]}] must be a replica name, {{name: NAME}} or {{replica_id: ID}}, "
                         f"not {_short(instance)}")
        return
    message = error.message
    if len(message) > 200:
        message = message[:197] + "..."
    diags.error(pos, f"{label}: {message}" if label else message)


# --------------------------------------------------------------------------------------- semantics

_URL_BAD_CHAR = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


@functools.lru_cache(maxsize=1024)
def _url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a training/callback URL, or None when it is a plain http(s) URL with a host."""
    if _URL_BAD_CHAR.search(url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if not host:
        return "has no host"
    if _unencodable(url):
        return "is not valid Unicode text"
    if any(not label for label in host.rstrip(".").split(".")):
        return "has an empty label in its host name"
    if _PLAIN_HOST.match(host) and "xn--" not in host.lower():
        return None  # plain ASCII labels: nothing for IDNA to refuse, and validate need not load httpx
    try:
        import httpx  # the parser the URL check and the API use: a host it cannot encode (IDNA) fails here

        checked = httpx.URL(f"{parts.scheme}://{parts.netloc}/")
        checked.host  # noqa: B018 - decoding the host (IDNA) is what raises
    except Exception:  # noqa: BLE001 - InvalidURL, IDNAError, UnicodeError, ValueError: all mean "bad URL"
        return "has a host name that is not valid (IDNA)"
    return None


_PLAIN_HOST = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?$")


def _show_url(url: str) -> str:
    from reconciler.redact import redact_url

    return _short(redact_url(url) or "", 80)


class _Semantics:
    def __init__(self, doc: _Document, diags: _Diagnostics, path: str, text: str):
        self.doc = doc
        self.diags = diags
        self.path = path
        self.text = text
        self.folded: dict[str, tuple[str, int]] = {}  # NFKC + casefold of each declared name -> (name, line)

    def run(self) -> Config | None:
        root = self.doc.root
        settings = self._settings(root.get("settings"))
        defaults = root.get("defaults") if isinstance(root.get("defaults"), dict) else {}
        defaults = {k: v for k, v in defaults.items() if k in DEFAULT_FIELDS}
        self._default_warnings(defaults)
        replicas = root.get("replicas")
        if not isinstance(replicas, list):
            return None
        names: dict[str, int] = {}
        ids: dict[str, int] = {}
        out: list[DesiredReplica] = []
        for i, entry in enumerate(replicas):
            if not isinstance(entry, dict):
                continue
            d = self._entry(i, entry, defaults, settings, names, ids)
            if d is not None:
                out.append(d)
        removed_names, removed_ids = self._removed(root.get("removed"), names, ids)
        if self.diags.errors:
            return None
        version = root.get("version")
        return Config(path=self.path, replicas=tuple(out), settings=settings,
                      version=version if isinstance(version, int) else 1,
                      warnings=self.diags.rendered_warnings(), source=self.text,
                      removed_names=removed_names, removed_ids=removed_ids)

    def _removed(self, raw: Any, names: dict[str, int], ids: dict[str, int]) -> tuple[tuple, tuple]:
        """``removed:`` (forget without deleting): names, or {name:} / {replica_id:} items. A replica cannot be
        both declared and removed, nor removed twice."""
        if not isinstance(raw, list):
            return (), ()
        out: dict[str, list[str]] = {"name": [], "replica_id": []}
        seen: dict[tuple[str, str], int] = {}
        for i, item in enumerate(raw):
            if isinstance(item, str):
                key, value, path = "name", item, ("removed", i)
            elif isinstance(item, dict) and len(item) == 1:
                ((key, value),) = item.items()
                path = ("removed", i, key)
            else:
                continue  # the schema reported it
            if key not in out or not isinstance(value, str) or not value or path in self.doc.missing:
                if path in self.doc.missing:
                    self._unset_identity(path, f"removed[{i}]")
                continue
            where = self.doc.at(path)
            declared = (names if key == "name" else ids).get(value)
            if declared is not None:
                self.diags.error(where, f"removed[{i}]: {value} is also declared under replicas: (line "
                                        f"{declared}): remove it from one of the two lists")
            elif (key, value) in seen:
                self.diags.error(where, f"removed[{i}]: {value} is already listed at line {seen[key, value]}")
            else:
                seen[key, value] = where[0]
                out[key].append(value)
        return tuple(out["name"]), tuple(out["replica_id"])

    def _lookalike_warnings(self, name: str, pos: Pos) -> None:
        """Warn when a declared name equals an earlier one under Unicode normalisation and case folding, or
        mixes look-alike scripts (a Cyrillic "а" among Latin letters)."""
        import unicodedata

        folded = unicodedata.normalize("NFKC", name).casefold()
        seen = self.folded
        if folded in seen:
            other, line = seen[folded]
            self.diags.warning(pos, f"name {_short(name)} {ascii(name)} looks the same as {_short(other)} "
                                    f"{ascii(other)} (line {line}) once Unicode normalisation and case are "
                                    "ignored: a reader cannot tell them apart")
        else:
            seen[folded] = (name, pos[0])
        scripts = {unicodedata.name(ch, "").split(" ")[0] for ch in name if ch.isalpha()}
        mixed = sorted(scripts & {"LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE"})
        if len(mixed) > 1:
            self.diags.warning(pos, f"name {_short(name)} mixes {' and '.join(s.title() for s in mixed)} letters: "
                                    "it may be a look-alike of another name")

    def _settings(self, raw: Any) -> Settings:
        if not isinstance(raw, dict):
            return Settings()
        prune = raw.get("prune") if isinstance(raw.get("prune"), bool) else False
        scope = raw.get("scope")
        prefix = scope.get("name_prefix") if isinstance(scope, dict) else None
        ppath = ("settings", "scope", "name_prefix")
        if ppath in self.doc.missing:
            self._unset_identity(ppath, "settings.scope.name_prefix")
            prefix = None
        return Settings(prune=prune, name_prefix=prefix if isinstance(prefix, str) and prefix else None)

    def _unset_identity(self, path: tuple, what: str) -> None:
        for var in self.doc.missing[path]:
            self.diags.error(self.doc.at(path), f"${{{var}}} is not set: {what} must be known to plan "
                                                "(set the variable or give a default with ${VAR:-default})")

    def _default_warnings(self, defaults: dict) -> None:
        for key in defaults:
            path = ("defaults", key)
            for var in self.doc.missing.get(path, ()):
                self.diags.warning(self.doc.at(path), f"${{{var}}} is not set (needed only when a replica "
                                                      f"that inherits defaults.{key} is created)")

    def _merged(self, entry: dict, defaults: dict) -> tuple[dict, dict[str, tuple]]:
        """The entry with defaults filled in, and where each field came from."""
        merged: dict = {}
        source: dict[str, tuple] = {}
        own_training = any(f in entry for f in TRAINING_FIELDS)
        for key, value in defaults.items():
            if own_training and key in TRAINING_FIELDS:
                continue  # the training source is one unit: the entry's own wins as a whole
            merged[key] = value
            source[key] = ("defaults", key)
        for key, value in entry.items():
            merged[key] = value
            source[key] = ()
        if "voice_name" in merged and source["voice_name"] and "train_image_url" not in merged:
            del merged["voice_name"]  # a default voice applies only to replicas trained from an image
        return merged, source

    def _entry(self, i: int, entry: dict, defaults: dict, settings: Settings,
               names: dict[str, int], ids: dict[str, int]) -> DesiredReplica | None:
        doc, diags = self.doc, self.diags
        base = ("replicas", i)
        start = doc.at(base)
        merged, source = self._merged(entry, defaults)

        def fpath(key: str) -> tuple:
            return source.get(key) or base + (key,)

        name = entry.get("name")
        if not isinstance(name, str):
            return None  # the schema reported it
        label = name
        name_ok = True
        if base + ("name",) in doc.missing:
            self._unset_identity(base + ("name",), f"replicas[{i}].name")
            label, name_ok = f"replicas[{i}]", False
        elif CONTROL_CHARS.search(name):
            diags.error(doc.at(base + ("name",)), f"replicas[{i}]: name must not contain control characters")
            name_ok = False
        elif (bad := _invisible_in(name)) is not None:
            diags.error(doc.at(base + ("name",)), f"replicas[{i}]: name contains the invisible character {bad}: "
                                                  "remove it (it makes the name look like another one)")
            name_ok = False
            label = f"replicas[{i}]"
        if name_ok and name.strip() and name == name.strip():
            if name in names:
                diags.error(doc.at(base + ("name",)),
                            f"duplicate name {_short(name)} (first declared at line {names[name]})")
            else:
                names[name] = start[0]
                self._lookalike_warnings(name, doc.at(base + ("name",)))
            if settings.name_prefix and not name.startswith(settings.name_prefix):
                diags.error(doc.at(base + ("name",)),
                            f"{name}: the name is outside this file's scope: it must start with "
                            f"{settings.name_prefix!r} (settings.scope.name_prefix)")

        replica_id = entry.get("replica_id")
        if base + ("replica_id",) in doc.missing:
            self._unset_identity(base + ("replica_id",), f"{label}: replica_id")
        elif isinstance(replica_id, str) and replica_id:
            if replica_id in ids:
                diags.error(doc.at(base + ("replica_id",)),
                            f"{label}: replica_id {replica_id} is already used at line {ids[replica_id]}")
            else:
                ids[replica_id] = start[0]
        adopted = "replica_id" in entry
        # a misspelt field is reported as unknown: do not also report the field it was meant to be as missing
        unknown = any(k not in REPLICA_FIELDS for k in entry)

        # the training source
        has_video, has_image, has_voice = (merged.get(f) is not None for f in
                                           ("train_video_url", "train_image_url", "voice_name"))
        if has_video and (has_image or has_voice):
            diags.error(start, f"{label}: declare either train_video_url or train_image_url + voice_name, not both")
        elif has_voice and not has_image:
            diags.error(start, f"{label}: voice_name needs train_image_url (a replica trained from an image "
                               "uses a stock voice); for a video use train_video_url alone")
        elif has_image and not has_voice:
            diags.error(start, f"{label}: train_image_url needs voice_name (the stock voice of a replica trained "
                               "from an image)")
        elif not adopted and not has_video and not has_image and not unknown:
            diags.error(start, f"{label}: no training source: set train_video_url, or train_image_url + "
                               "voice_name (or replica_id to adopt an existing replica)")
        synthetic = merged.get("synthetic") is True
        in_video = merged.get("consent_in_training_video") is True
        if in_video and "consent_video_url" in entry:
            diags.error(start, f"{label}: declare either consent_video_url or consent_in_training_video: true, "
                               "not both")
        if not adopted and not synthetic and not in_video and merged.get("consent_video_url") is None \
                and not unknown:
            diags.error(start, f"{label}: consent_video_url is required for a human replica (or set synthetic: "
                               "true); when the training video opens with the consent statement, set "
                               "consent_in_training_video: true instead")

        # ${VAR}s and URLs
        missing: set[str] = set()
        for key in merged:
            if key in IDENTITY_FIELDS:
                continue
            p = fpath(key)
            unset = doc.missing.get(p, ())
            if unset:
                missing.update(unset)
                if not source.get(key):
                    for var in unset:
                        diags.warning(doc.at(p), f"${{{var}}} is not set (needed only when {label} is created)")
                continue
            value = merged[key]
            if key in URL_FIELDS and isinstance(value, str) and p not in doc.skip:
                if value == "":
                    if key != "callback_url":
                        diags.error(doc.at(p), f"{label}: {key} is empty")
                    continue
                problem = _url_problem(value)
                if problem:
                    diags.error(doc.at(p), f"{label}: {key} {problem} (got {_show_url(value)})")

        def text(key: str) -> str | None:
            v = merged.get(key)
            return v if isinstance(v, str) else None

        def p_ok(p: tuple) -> bool:
            return p not in doc.skip and p not in doc.missing

        model = merged.get("model_name")
        if isinstance(model, str) and model not in MODELS and p_ok(fpath("model_name")):
            diags.warning(doc.at(fpath("model_name")), f"{label}: model_name {_short(model)} is not one this "
                                                       f"version knows ({', '.join(MODELS)}); it is sent as is")
        props = merged.get("properties")
        properties = tuple(sorted((k, v) for k, v in props.items() if k in PROPERTIES and isinstance(v, bool))) \
            if isinstance(props, dict) else ()
        return DesiredReplica(
            name=name,
            replica_id=replica_id if isinstance(replica_id, str) else None,
            train_video_url=text("train_video_url"),
            train_image_url=text("train_image_url"),
            voice_name=text("voice_name"),
            consent_video_url=text("consent_video_url"),
            synthetic=synthetic,
            model_name=model if isinstance(model, str) else None,
            callback_url=text("callback_url") or None,
            protect=merged.get("protect") is True,
            missing_vars=tuple(sorted(missing)),
            line=start[0],
            consent_in_training_video=in_video,
            properties=properties,
        )
