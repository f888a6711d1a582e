"""The vendored Bot API spec: decoding request parameters and checking their types.

python-telegram-bot sends form fields whose non-string values are JSON-encoded, so the spec's
field types decide how each value is decoded before its shape is checked.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

SPEC_PATH = Path(__file__).with_name("botapi_spec.json")
INTEGER_RE = re.compile(r"-?\d+")


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A multipart file part, standing in for the Bot API's InputFile."""

    filename: str
    data: bytes
    content_type: str = "application/octet-stream"

    def __repr__(self) -> str:  # requests are logged; keep the bytes out of it
        return f"UploadedFile({self.filename!r}, {len(self.data)} bytes)"


class SpecError(ValueError):
    """A parameter cannot be decoded; the message is Telegram's "Bad Request" detail."""


class Spec:
    def __init__(self, data: dict) -> None:
        self.version: str = data["version"]
        self.methods: dict[str, dict] = data["methods"]
        self.types: dict[str, dict] = data["types"]
        self._by_lower = {name.lower(): name for name in self.methods}

    def method_name(self, name: str) -> str | None:
        """Canonical spelling; Telegram matches method names case-insensitively."""
        return self._by_lower.get(name.lower())

    def fields(self, method: str) -> dict[str, dict]:
        return self.methods[method]["fields"]

    def returns(self, method: str) -> list[str]:
        return self.methods[method]["returns"]

    # -- decoding ---------------------------------------------------------------------------

    def decode(
        self, method: str, raw: dict[str, object], files: dict[str, UploadedFile]
    ) -> dict[str, object]:
        """Typed parameters from form strings (or JSON values), files put in place."""
        fields = self.fields(method)
        params: dict[str, object] = {}
        for name, value in raw.items():
            spec = fields.get(name)
            params[name] = value if spec is None else _decode_value(name, value, spec["types"])
        for name, upload in files.items():
            if name in fields and name not in params:
                params[name] = upload
        resolved = _resolve_attachments(params, files)
        assert isinstance(resolved, dict)  # a dict in, a dict out
        return resolved

    # -- checking ---------------------------------------------------------------------------

    def check_params(self, method: str, params: dict[str, object]) -> list[str]:
        return self._check_fields(self.fields(method), params, "")

    def check_value(self, value: object, types: list[str], path: str) -> list[str]:
        """Problems with value as one of types (empty when it matches any of them)."""
        attempts = []
        for type_name in types:
            problems = self._check_one(value, type_name, path)
            if not problems:
                return []
            attempts.append((not _shape_matches(value, type_name), len(problems), problems))
        return min(attempts, key=lambda attempt: attempt[:2])[2]

    def _check_one(self, value: object, type_name: str, path: str) -> list[str]:
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                return [f"{path}: expected an array, got {_kind(value)}"]
            inner = type_name.removeprefix("Array of ")
            alternatives = [part.strip() for part in re.split(r",| and ", inner) if part.strip()]
            problems: list[str] = []
            for index, item in enumerate(value):
                problems += self.check_value(item, alternatives, f"{path}[{index}]")
            return problems
        scalar = _SCALARS.get(type_name)
        if scalar is not None:
            return [] if scalar(value) else [f"{path}: expected {type_name}, got {_kind(value)}"]
        if type_name not in self.types:
            return []  # a type the trimmed spec does not carry: nothing to check against
        if not isinstance(value, dict):
            return [f"{path}: expected a {type_name} object, got {_kind(value)}"]
        entry = self.types[type_name]
        if entry.get("subtypes"):
            return self._check_union(value, entry["subtypes"], type_name, path)
        problems = []
        for key, expected in entry.get("const", {}).items():
            if value.get(key) != expected:
                problems.append(f"{path}.{key}: must be {expected!r} for {type_name}")
        return problems + self._check_fields(entry.get("fields", {}), value, path + ".")

    def _check_union(self, value: dict, subtypes: list[str], parent: str, path: str) -> list[str]:
        candidates = [
            name
            for name in subtypes
            if all(
                value.get(key) == const for key, const in self.types[name].get("const", {}).items()
            )
        ]
        if not candidates:
            kinds = sorted(
                {
                    const
                    for name in subtypes
                    for const in self.types[name].get("const", {}).values()
                }
            )
            return [
                f"{path}: not a valid {parent}"
                + (f" (type must be one of {', '.join(kinds)})" if kinds else "")
            ]
        attempts = [self._check_one(value, name, path) for name in candidates]
        return min(attempts, key=len) if all(attempts) else []

    def _check_fields(self, fields: dict[str, dict], value: dict, prefix: str) -> list[str]:
        problems = []
        for name, spec in fields.items():
            if name not in value or value[name] is None:
                if spec["required"]:
                    problems.append(f"{prefix}{name}: required parameter is missing")
                continue
            problems += self.check_value(value[name], spec["types"], f"{prefix}{name}")
        problems += [f"{prefix}{name}: unknown parameter" for name in value if name not in fields]
        return problems


_SCALARS = {
    "String": lambda v: isinstance(v, str),
    "Integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "Float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "Boolean": lambda v: isinstance(v, bool),
    "InputFile": lambda v: isinstance(v, UploadedFile),
    "True": lambda v: v is True,
}


def _kind(value: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _shape_matches(value: object, type_name: str) -> bool:
    if type_name.startswith("Array of "):
        return isinstance(value, list)
    return isinstance(value, dict) and type_name not in _SCALARS


def _decode_value(name: str, value: object, types: list[str]) -> object:
    if not isinstance(value, str) or types == ["String"]:
        return value
    if "String" in types or "InputFile" in types:
        if "Integer" in types and INTEGER_RE.fullmatch(value):
            return int(value)
        return value
    if types == ["Boolean"] and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    try:
        return json.loads(value)
    except ValueError:
        raise SpecError(
            f"can't parse {name}: expected {' or '.join(types)}, got {value[:40]!r}"
        ) from None


def _resolve_attachments(value: object, files: dict[str, UploadedFile]) -> object:
    """Replace "attach://name" strings by the uploaded part of that name."""
    if isinstance(value, str) and value.startswith("attach://"):
        name = value.removeprefix("attach://")
        if name not in files:
            raise SpecError(f"file {value} was not uploaded with the request")
        return files[name]
    if isinstance(value, dict):
        return {key: _resolve_attachments(item, files) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve_attachments(item, files) for item in value]
    return value


@functools.cache
def load_spec(path: Path = SPEC_PATH) -> Spec:
    return Spec(json.loads(path.read_text(encoding="utf-8")))
