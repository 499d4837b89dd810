"""Read YAML as plain data while remembering where every node came from.

PyYAML's safe loader is used to compose the node tree (so no tag can build an
object); we convert that tree ourselves to count nodes (alias bombs), bound the
depth, refuse duplicate keys and keep a Mark for every path.
"""
from __future__ import annotations

import functools
import os
import stat

import yaml

from archc.errors import Mark, SpecError

MAX_BYTES = 4 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 40

Path_ = tuple  # a path into the document: keys and list indices


class Document:
    """Plain data (dicts, lists, scalars) plus the source mark of every path."""

    def __init__(self, data, marks: dict, file: str):
        self.data, self.marks, self.file = data, marks, file

    def key_mark(self, path: Path_) -> Mark:
        """The mark of the key of the last element of `path` (a mapping entry)."""
        path = tuple(path)
        return self.marks.get(path[:-1] + (("key", path[-1]),)) or self.mark(path)

    def mark(self, path: Path_) -> Mark:
        """The mark of `path`, or of its closest ancestor that has one."""
        path = tuple(path)
        while path not in self.marks and path:
            path = path[:-1]
        return self.marks.get(path, Mark(self.file, 1, 1))


def read_bytes(file: str | os.PathLike, limit: int = MAX_BYTES, what: str = "spec",
               hint: str = "check the path") -> bytes:
    """At most `limit` bytes of `file`, refused past it. The bound holds for devices, FIFOs and pipes
    (whose st_size is 0): it counts what is read. A FIFO is opened without blocking, so one with no
    writer reads as empty instead of hanging."""
    try:
        st = os.stat(file)
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            raise SpecError(f"{file}: is a directory, not a {what} file; name a file inside it")
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            os.set_blocking(fd, True)  # a writer that is there may take its time
            # read(n) allocates n bytes first: ask a regular file for its size (and whatever it grew by)
            first = min(limit, st.st_size) + 1 if stat.S_ISREG(mode) and st.st_size else limit + 1
            raw = f.read(first)
            if len(raw) == first <= limit:
                raw += f.read(limit + 1 - first)
    except FileNotFoundError:
        raise SpecError(f"{file}: no such file; {hint}") from None
    except OSError as exc:
        raise SpecError(f"{file}: cannot read the {what}: {exc.strerror or exc}") from None
    if len(raw) > limit:
        raise SpecError(f"{file}: more than the {limit}-byte limit for a {what}"
                        + ("" if stat.S_ISREG(mode) else " (it is not a regular file)"))
    return raw


def read_text(file: str | os.PathLike) -> str:
    raw = read_bytes(file)
    if b"\x00" in raw:
        raise SpecError(f"{file}:1:1: binary data, not YAML text; give a YAML spec")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SpecError(f"{file}:{line}:1: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None


def load(file: str | os.PathLike, text: str | None = None, packaged: bool = False) -> Document:
    """Load one YAML document from `file` (or `text`, named `file`). `packaged`: a file archc ships
    (its block library), composed by libyaml when PyYAML has it (25x faster than the pure-Python
    composer, which a user's file keeps: its nesting bound is what makes hostile files safe)."""
    file = str(file)
    text = read_text(file) if text is None else text
    if packaged and getattr(yaml, "__with_libyaml__", False):
        return _packaged(file, text)
    if not text.strip():
        raise SpecError(f"{file}:1:1: the file is empty; a spec needs at least 'name', 'input' and 'stages'")
    try:
        loader = _Loader(text, file)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        m = exc.problem_mark or exc.context_mark
        line, col = (m.line + 1, m.column + 1) if m else (1, 1)
        raise SpecError(f"{file}:{line}:{col}: not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{file}:1:1: not valid YAML: {str(exc).splitlines()[0]}") from None
    if node is None:
        raise SpecError(f"{file}:1:1: the file holds no YAML document")
    marks: dict = {}
    counter = [0]
    data = _convert(node, (), marks, file, counter, 0)
    return Document(data, marks, file)


def _packaged(file: str, text: str) -> Document:
    loader = yaml.CSafeLoader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    marks: dict = {}
    return Document(_convert(node, (), marks, file, [0], 0), marks, file)


class _Loader(yaml.SafeLoader):
    """The safe loader, bounding the nesting as it composes: PyYAML's composer recurses once
    per level, so a 5,000-deep `[[[...]]]` would exhaust the stack before any check after it."""

    def __init__(self, text: str, file: str):
        super().__init__(text)
        self.file, self.depth = file, 0

    def compose_node(self, parent, index):
        self.depth += 1
        if self.depth > MAX_DEPTH + 1:  # the root is level 1 here, level 0 in _convert
            m = self.peek_event().start_mark
            raise SpecError(f"{self.file}:{m.line + 1}:{m.column + 1}: nesting deeper than {MAX_DEPTH} levels; "
                            f"flatten the spec")
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _convert(node, path, marks, file, counter, depth):
    counter[0] += 1
    mark = Mark(file, node.start_mark.line + 1, node.start_mark.column + 1)
    if counter[0] > MAX_NODES:
        raise SpecError(f"{mark}: more than {MAX_NODES} YAML nodes (an alias bomb?); a spec is far smaller")
    if depth > MAX_DEPTH:
        raise SpecError(f"{mark}: nesting deeper than {MAX_DEPTH} levels; flatten the spec")
    marks[path] = mark
    if isinstance(node, (yaml.SequenceNode, yaml.MappingNode)) and node.tag not in (
            "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"):
        raise SpecError(f"{mark}: YAML tag {node.tag} is not allowed in a spec; write plain values")
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node, mark)
    if isinstance(node, yaml.SequenceNode):
        return [_convert(n, path + (i,), marks, file, counter, depth + 1) for i, n in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = _convert(key_node, path + ("<key>",), marks, file, counter, depth + 1)
            key_mark = Mark(file, key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if isinstance(key, str):
                marks[path + (("key", key),)] = key_mark
            if not isinstance(key, str):
                raise SpecError(f"{key_mark}: mapping key {key!r} must be a string")
            if key in out:
                raise SpecError(f"{key_mark}: duplicate key '{key}'; keep one")
            out[key] = _convert(value_node, path + (key,), marks, file, counter, depth + 1)
        return out
    raise SpecError(f"{mark}: unsupported YAML node")


@functools.lru_cache(maxsize=1)
def _constructor():
    """One constructor for every scalar: making a SafeLoader per scalar cost most of a load."""
    return yaml.constructor.SafeConstructor()


def _scalar(node, mark):
    tag = node.tag
    if tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool",
               "tag:yaml.org,2002:null", "tag:yaml.org,2002:str"):
        constructor = yaml.SafeLoader.yaml_constructors[tag]
        try:
            value = constructor(_constructor(), node)
        except (ValueError, OverflowError) as exc:
            raise SpecError(f"{mark}: bad scalar {node.value!r}: {exc}") from None
        return value
    raise SpecError(f"{mark}: YAML tag {tag} is not allowed in a spec; write plain values")


def _scalar_like(v) -> bool:
    return not isinstance(v, (dict, list)) or (isinstance(v, list) and all(_scalar_like(x) and not
                                                                             isinstance(x, list) for x in v))


def _flat_dict(v) -> bool:
    return isinstance(v, dict) and all(_scalar_like(x) for x in v.values())


def dump(data) -> str:
    """YAML text for plain data: block style, key order kept; table rows and small
    mappings of scalars on one line each."""

    class _Dumper(yaml.SafeDumper):
        pass

    def _list(dumper, value):
        head = value[:-1] if value and isinstance(value[-1], dict) else value
        row = all(_scalar_like(v) and not isinstance(v, list) for v in head) and (
            head is value or _flat_dict(value[-1]))
        flow = row or not value or all(_scalar_like(v) for v in value)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)

    def _dict(dumper, value):
        return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=_flat_dict(value))

    _Dumper.add_representer(list, _list)
    _Dumper.add_representer(dict, _dict)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=200, allow_unicode=True)
