"""The shape of matrix.yaml as a JSON schema, and the checker that words a schema error (or a
key written twice) as one ConfigError naming file, line and key path, from the composed YAML nodes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from streammatrix import names
from streammatrix.config.model import (
    EXPANSIONS,
    MAX_TIMEOUT,
    PARSERS,
    PROTOCOLS,
    PROVIDERS,
    STARTS,
    TOPOLOGIES,
)
from streammatrix.errors import ConfigError
from streammatrix.plugin import outcomes

# JSON schema's `pattern` is a search and `$` also matches before a trailing newline: every
# pattern is anchored with \A and \Z so that it matches the whole value.
_NAME = {"type": "string", "pattern": rf"\A{names.NAME.pattern}\Z"}
_TEXT = {"type": "string", "minLength": 1}
# a client's distribution, optionally with extras naming a parser: redis, redis[hiredis]
_PACKAGE = {
    "type": "string",
    "pattern": rf"\A{names.NAME.pattern}(?:\[{names.NAME.pattern}(?:,{names.NAME.pattern})*\])?\Z",
}
_DEB = _TEXT  # NAME/SUITE, checked in config/load.py with the rule apt-get is given names by
_EXPECTABLE = (
    outcomes.FAIL,
    outcomes.ERROR,
    outcomes.UNSUPPORTED_SERVER,
    outcomes.UNSUPPORTED_CLIENT,
    outcomes.PASS,
)

_RELEASE = {"type": "string", "pattern": r"\A\d+(\.\d+)*\Z"}  # a server release: 7.2.4
_BINARY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path"],
    "oneOf": [{"required": ["pypi"]}, {"required": ["debian"]}],
    "properties": {
        "pypi": _TEXT,
        "debian": _DEB,
        "path": _TEXT,
        "libs": {"type": "array", "items": _DEB},
        "python": {"type": "string", "pattern": r"\A[23]\.\d+\Z"},
    },
}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["servers", "clients"],
    "properties": {
        "suite": _TEXT,
        "provider": {"enum": list(PROVIDERS)},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_TIMEOUT},
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
                    "topologies": {
                        "type": "array",
                        "minItems": 1,
                        "uniqueItems": True,
                        "items": {"enum": list(TOPOLOGIES)},
                    },
                    "binary": _BINARY,
                    "releases": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "anyOf": [
                                _RELEASE,
                                {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "required": ["release"],
                                    "properties": {
                                        "release": _RELEASE,
                                        "image": _TEXT,
                                        "binary": _BINARY,
                                    },
                                },
                            ]
                        },
                    },
                    "expand": {"enum": list(EXPANSIONS)},
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
                    "package": _PACKAGE,
                    "module": {"type": "string", "pattern": rf"\A{names.MODULE.pattern}\Z"},
                    "version": {"type": "string"},
                    "default": {"type": "boolean"},
                    "expand": {"enum": list(EXPANSIONS)},
                    "prereleases": {"type": "boolean"},
                    "parsers": {
                        "type": "array",
                        "minItems": 1,
                        "uniqueItems": True,
                        "items": {"enum": list(PARSERS)},
                    },
                    "hiredis": {"type": "string"},
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
                    "parser": {"type": "string"},
                    "topology": _TEXT,
                },
            },
        },
        "required": {"type": "array", "minItems": 1, "items": _TEXT},
        "protocols": {
            "type": "array",
            "minItems": 1,
            "items": {"enum": [int(p) if p.isdigit() else p for p in PROTOCOLS]},
        },
        "topologies": {"type": "array", "minItems": 1, "items": {"enum": list(TOPOLOGIES)}},
        "bisect": {"type": "boolean"},
        "declared": {"type": "array", "items": _TEXT},
    },
}


class Checker:
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
            if expected in ("number", "integer") and isinstance(value, str) and _number(value):
                hint = f" (YAML reads {value} as text: write 1.0e+3 or 1000)"
            return self.fail(keys, f"expected a {expected}, got {value!r}{hint}")
        if kind == "enum":
            options = ", ".join(map(str, error.validator_value))
            return self.fail(keys, f"{value!r} is not one of: {options}")
        if kind == "pattern":
            return self.fail(keys, f"{value!r} is not of the form {_FORMS.get(keys[-1], '...')}")
        if kind == "anyOf" and "releases" in keys:
            return self.fail(
                keys,
                f"{value!r}: a release is a version (7.2.4) or a mapping with 'release' and "
                "optionally 'image' and 'binary'",
            )
        if kind == "anyOf" and keys and keys[0] == "servers":
            return self.fail(keys, "a server needs an 'image', a 'binary' source, or both")
        if kind == "oneOf":
            return self.fail(keys, "a binary source needs exactly one of 'pypi' or 'debian'")
        if kind == "uniqueItems":
            return self.fail(keys, f"lists the same {_ITEMS.get(keys[-1], 'version')} twice")
        if kind == "minItems":
            return self.fail(keys, "must not be empty")
        if kind == "minProperties":
            return self.fail(keys, "an exclude entry needs at least one of server, client, python")
        return self.fail(keys, error.message)


_FORMS = {
    "name": "letters, digits, '.', '_' and '-'",
    "debian": "PACKAGE/SUITE, e.g. redis-tools/bookworm",
    "version": "dotted numbers, e.g. 7.0 or 7.0.15",
    "release": "dotted numbers, e.g. 7.2.4",
    "python": "a Python version, e.g. 3.8",
    "module": "a Python module name",
    "package": "a distribution name, optionally with a parser as extra: redis, redis[hiredis]",
}
_ITEMS = {"parsers": "parser"}  # what a list holds, when not versions


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _keypath(keys: list[Any]) -> str:
    out = ""
    for key in keys:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out
