"""Validation of matrix.yaml: a JSON schema for the shape, then checks the schema cannot say.

The YAML is composed once to keep each node's line, so an error points at the line to fix.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from streammatrix import names
from streammatrix.config import values
from streammatrix.config.model import (
    ALL_FEATURES,
    DEFAULT_HISTORY,
    DEFAULT_RERUNS,
    DEFAULT_SUITE,
    DEFAULT_TIMEOUT,
    EXPANSIONS,
    PROTOCOLS,
    PROVIDERS,
    RANGE_EXPANSION,
    STARTS,
    BinarySource,
    ClientSpec,
    Exclude,
    Expectation,
    Matrix,
    Selector,
    ServerSpec,
    is_range,
)
from streammatrix.errors import ConfigError
from streammatrix.plugin import outcomes

# JSON schema's `pattern` is a search and `$` also matches before a trailing newline: every
# pattern is anchored with \A and \Z so that it matches the whole value.
_NAME = {"type": "string", "pattern": rf"\A{names.NAME.pattern}\Z"}
_TEXT = {"type": "string", "minLength": 1}
_DEB = _TEXT  # NAME/SUITE, checked in _build with the rule apt-get is given names by
_EXPECTABLE = (
    outcomes.FAIL,
    outcomes.ERROR,
    outcomes.UNSUPPORTED_SERVER,
    outcomes.UNSUPPORTED_CLIENT,
    outcomes.PASS,
)

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["servers", "clients"],
    "properties": {
        "suite": _TEXT,
        "provider": {"enum": list(PROVIDERS)},
        "timeout": {"type": "number", "exclusiveMinimum": 0},
        "reruns": {"type": "integer", "minimum": 0, "maximum": 10},
        "history": {"type": "integer", "minimum": 1, "maximum": 366},
        "start": {"enum": list(STARTS)},
        "python": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"type": "string", "pattern": r"\A[23]\.\d+\Z"},
        },
        "servers": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "anyOf": [{"required": ["image"]}, {"required": ["binary"]}],
                "properties": {
                    "name": _NAME,
                    "image": _TEXT,
                    "version": {"type": "string", "pattern": r"\A\d+(\.\d+)*\Z"},
                    "default": {"type": "boolean"},
                    "args": {"type": "array", "items": {"type": "string"}},
                    "binary": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["path"],
                        "oneOf": [{"required": ["pypi"]}, {"required": ["debian"]}],
                        "properties": {
                            "pypi": _TEXT,
                            "debian": _DEB,
                            "path": _TEXT,
                            "libs": {"type": "array", "items": _DEB},
                        },
                    },
                },
            },
        },
        "clients": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["version"],
                "properties": {
                    "name": _NAME,
                    "package": _NAME,
                    "module": {"type": "string", "pattern": rf"\A{names.MODULE.pattern}\Z"},
                    "version": {"type": "string"},
                    "default": {"type": "boolean"},
                    "expand": {"enum": list(EXPANSIONS)},
                    "prereleases": {"type": "boolean"},
                    "python": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"type": "string", "pattern": r"^[23]\.\d+$"},
                    },
                },
            },
        },
        "exclude": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "minProperties": 1,
                "properties": {"server": _TEXT, "client": _TEXT, "python": _TEXT, "reason": _TEXT},
            },
        },
        "expected": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["outcome"],
                "properties": {
                    "feature": _TEXT,
                    "server": _TEXT,
                    "client": _TEXT,
                    "outcome": {"enum": list(_EXPECTABLE)},
                    "reason": _TEXT,
                    "protocol": {"type": ["string", "integer"]},
                },
            },
        },
        "required": {"type": "array", "minItems": 1, "items": _TEXT},
        "protocols": {
            "type": "array",
            "minItems": 1,
            "items": {"enum": [int(p) if p.isdigit() else p for p in PROTOCOLS]},
        },
        "bisect": {"type": "boolean"},
        "declared": {"type": "array", "items": _TEXT},
    },
}


def load(path: str | Path) -> Matrix:
    """Read and validate ``path``; raise one ConfigError naming file, key path and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the matrix file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}:{line}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
            f"{exc.start}); save the matrix file as UTF-8"
        ) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with 'servers' and 'clients' at the top")
    check = _Checker(path, root)
    check.unique_keys(root, [])
    check.validate(data)
    return _build(path, data, check)


class _Checker:
    def __init__(self, path: Path, root: yaml.Node | None) -> None:
        self.path, self.root = path, root

    def line(self, keys: list[Any], key_itself: str | None = None) -> int | None:
        node = self.root
        for key in keys:
            if isinstance(node, yaml.MappingNode):
                node = next((v for k, v in node.value if k.value == key), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
                node = node.value[key] if key < len(node.value) else None
            else:
                node = None
            if node is None:
                return None
        if key_itself is not None and isinstance(node, yaml.MappingNode):
            for k, _ in node.value:
                if k.value == key_itself:
                    return k.start_mark.line + 1
        return node.start_mark.line + 1 if node is not None else None

    def fail(self, keys: list[Any], message: str, key_itself: str | None = None) -> ConfigError:
        line = self.line(keys, key_itself)
        where = f"{self.path}:{line}" if line else str(self.path)
        keypath = _keypath([*keys, key_itself] if key_itself else keys) or "(top level)"
        return ConfigError(f"{where}: {keypath}: {message}")

    def unique_keys(self, node: yaml.Node | None, keys: list[Any]) -> None:
        """A key written twice in one mapping: YAML keeps the last silently, we refuse."""
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                if key.value in seen:
                    raise ConfigError(
                        f"{self.path}:{key.start_mark.line + 1}: "
                        f"{_keypath([*keys, key.value])}: key written twice"
                    )
                seen.add(key.value)
                self.unique_keys(value, [*keys, key.value])
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.unique_keys(item, [*keys, i])

    def validate(self, data: dict[str, Any]) -> None:
        validator = jsonschema.Draft202012Validator(SCHEMA)
        errors = sorted(validator.iter_errors(data), key=lambda e: (list(e.absolute_path), e.path))
        if errors:
            raise self._explain(errors[0])

    def _explain(self, error: jsonschema.ValidationError) -> ConfigError:
        keys = list(error.absolute_path)
        kind, value = error.validator, error.instance
        if kind == "additionalProperties":
            allowed = sorted(error.schema.get("properties", {}))
            extra = sorted(set(value) - set(allowed))
            return self.fail(
                keys,
                f"unknown key {extra[0]!r} (allowed: {', '.join(allowed)})",
                key_itself=extra[0],
            )
        if kind == "required":
            missing = re.findall(r"'([^']+)' is a required property", error.message)
            return self.fail(keys, f"missing key {missing[0] if missing else error.message!r}")
        if kind == "type":
            expected = error.validator_value
            hint = " (quote it)" if expected == "string" and isinstance(value, (int, float)) else ""
            return self.fail(keys, f"expected a {expected}, got {value!r}{hint}")
        if kind == "enum":
            options = ", ".join(map(str, error.validator_value))
            return self.fail(keys, f"{value!r} is not one of: {options}")
        if kind == "pattern":
            return self.fail(keys, f"{value!r} is not of the form {_FORMS.get(keys[-1], '...')}")
        if kind == "anyOf" and keys and keys[0] == "servers":
            return self.fail(keys, "a server needs an 'image', a 'binary' source, or both")
        if kind == "oneOf":
            return self.fail(keys, "a binary source needs exactly one of 'pypi' or 'debian'")
        if kind == "uniqueItems":
            return self.fail(keys, "lists the same version twice")
        if kind == "minItems":
            return self.fail(keys, "must not be empty")
        if kind == "minProperties":
            return self.fail(keys, "an exclude entry needs at least one of server, client, python")
        return self.fail(keys, error.message)


_FORMS = {
    "name": "letters, digits, '.', '_' and '-'",
    "debian": "PACKAGE/SUITE, e.g. redis-tools/bookworm",
    "version": "dotted numbers, e.g. 7.0 or 7.0.15",
    "module": "a Python module name",
    "package": "a distribution name",
}


def _keypath(keys: list[Any]) -> str:
    out = ""
    for key in keys:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


def _specifier(version: str) -> str:
    """'4.6.0' -> '==4.6.0', '5.0.*' -> '==5.0.*', 'latest' -> '', '>=5,<6' unchanged."""
    version = version.strip()
    if version in ("", "latest", "*"):
        return ""
    if version[0].isdigit():
        return f"=={version}"
    return version


def _default_client_name(package: str, version: str) -> str:
    tail = version.strip() or "latest"
    tail = re.sub(r"[^A-Za-z0-9.]+", "", tail.replace("*", "x")).strip(".") or "latest"
    return f"{package}-{tail}"


def _selector(check: _Checker, keys: list[Any], text: str) -> Selector:
    selector = Selector(text)
    family_range = selector.family_range
    if family_range is not None:
        try:
            SpecifierSet(family_range[1])
        except InvalidSpecifier:
            raise check.fail(keys, f"{text!r}: not a valid version range") from None
    return selector


def _build(path: Path, data: dict[str, Any], check: _Checker) -> Matrix:
    servers = []
    for i, raw in enumerate(data["servers"]):
        binary = None
        if "binary" in raw:
            b = raw["binary"]
            kind = "pypi" if "pypi" in b else "debian"
            values.binary_names(check.fail, ["servers", i, "binary"], b)
            binary = BinarySource(kind, b[kind], b["path"], tuple(b.get("libs", ())))
        servers.append(
            ServerSpec(
                name=raw["name"],
                image=raw.get("image"),
                binary=binary,
                version=raw.get("version"),
                default=raw.get("default", True),
                args=tuple(raw.get("args", ())),
            )
        )
        if [s.name for s in servers].count(raw["name"]) > 1:
            raise check.fail(["servers", i, "name"], f"duplicate server name {raw['name']!r}")

    clients = []
    for i, raw in enumerate(data["clients"]):
        spec = _specifier(raw["version"])
        if names.specifier_problem(spec):
            raise check.fail(
                ["clients", i, "version"],
                f"{raw['version']!r} is not a pip version specifier (e.g. 5.0.1, 5.0.*, >=5,<6) "
                'or "latest"',
            )
        package = raw.get("package", "redis")
        problem = names.distribution_problem(package) or names.requirement_problem(package + spec)
        if problem:
            raise check.fail(["clients", i, "package"], problem)
        client = ClientSpec(
            name=raw.get("name") or _default_client_name(package, raw["version"]),
            package=package,
            module=raw.get("module", package.replace("-", "_")),
            version=spec,
            default=raw.get("default", True),
            expand=raw.get("expand") or (RANGE_EXPANSION if is_range(spec) else ""),
            prereleases=raw.get("prereleases", False),
            pythons=tuple(raw.get("python", ())),
        )
        if any(c.name == client.name for c in clients):
            raise check.fail(["clients", i], f"duplicate client name {client.name!r}")
        clients.append(client)

    excludes = tuple(
        Exclude(
            server=_selector(check, ["exclude", i, "server"], raw.get("server", "*")),
            client=_selector(check, ["exclude", i, "client"], raw.get("client", "*")),
            python=raw.get("python", "*"),
            reason=raw.get("reason", ""),
        )
        for i, raw in enumerate(data.get("exclude") or ())
    )
    expected = tuple(
        Expectation(
            feature=raw.get("feature", "*"),
            server=_selector(check, ["expected", i, "server"], raw.get("server", "*")),
            client=_selector(check, ["expected", i, "client"], raw.get("client", "*")),
            outcome=raw["outcome"],
            reason=raw.get("reason", ""),
            protocol=str(raw.get("protocol", "*")),
        )
        for i, raw in enumerate(data.get("expected") or ())
    )
    suite = data.get("suite", DEFAULT_SUITE)
    suite_path = (path.parent / suite).resolve()
    if not suite_path.exists():
        raise check.fail(["suite"], f"{suite!r} does not exist (relative to {path.name})")
    return Matrix(
        path=path,
        servers=tuple(servers),
        clients=tuple(clients),
        python=tuple(data.get("python") or (_current_python(),)),
        exclude=excludes,
        expected=expected,
        required=tuple(data.get("required") or ALL_FEATURES),
        suite=suite,
        provider=data.get("provider", "auto"),
        timeout=values.timeout(check.fail, data.get("timeout", DEFAULT_TIMEOUT)),
        reruns=int(data.get("reruns", DEFAULT_RERUNS)),
        history=int(data.get("history", DEFAULT_HISTORY)),
        protocols=_protocols(check, data.get("protocols")),
        bisect=data.get("bisect", False),
        declared=tuple(_declared(check, data.get("declared") or ())),
        start=data.get("start", "fork"),
    )


def _protocols(check: _Checker, raw: list[Any] | None) -> tuple[str | None, ...]:
    """`protocols: [2, 3]` -> ("2", "3"); absent -> (None,): no claim, the client's default."""
    if not raw:
        return (None,)
    found = [str(p) for p in raw]
    for i, value in enumerate(found):
        if found.index(value) != i:
            raise check.fail(["protocols", i], f"lists protocol {value} twice")
    return tuple(found)


def _declared(check: _Checker, texts: Any) -> list[str]:
    for i, text in enumerate(texts):
        try:
            Requirement(text)
        except InvalidRequirement:
            raise check.fail(
                ["declared", i], f"{text!r} is not a requirement (e.g. redis>=4.0)"
            ) from None
    return list(texts)


def _current_python() -> str:
    import sys

    return f"{sys.version_info.major}.{sys.version_info.minor}"
