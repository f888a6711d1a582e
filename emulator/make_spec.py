"""Trim the full Bot API spec to what request validation needs.

The upstream ``api.json`` (PaulSonOfLars/telegram-bot-api-spec, MIT: ``SPEC-LICENSE``) sits
beside this file; the emulator loads only the trimmed ``botapi_spec.json``: method parameters
and the input types they reach. When Telegram publishes a new Bot API version, replace
``api.json`` with the new release and run ``python -m emulator.make_spec``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

OUTPUT = Path(__file__).with_name("botapi_spec.json")
DEFAULT_SOURCE = Path(__file__).with_name("api.json")
# "Type of the result, must be article" / 'always "creator"': the subtype's discriminator.
CONST_RE = re.compile(r'(?:must be|always) [“"*]?([a-z0-9_]+)')
DISCRIMINATORS = ("type", "status", "source")


def _type_names(types: list[str]) -> set[str]:
    names: set[str] = set()
    for entry in types:
        while entry.startswith("Array of "):
            entry = entry.removeprefix("Array of ")
        names.update(part.strip() for part in re.split(r",| and ", entry) if part.strip())
    return names


def _fields(fields: list[dict]) -> dict:
    return {f["name"]: {"types": f["types"], "required": f["required"]} for f in fields}


def _const(fields: list[dict]) -> dict[str, str]:
    for field in fields[:2]:
        if field["name"] in DISCRIMINATORS:
            match = CONST_RE.search(field["description"])
            if match:
                return {field["name"]: match.group(1)}
    return {}


def trim(spec: dict) -> dict:
    """Keep every method and only the types its parameters can contain."""
    methods = {
        name: {"returns": method.get("returns", []), "fields": _fields(method.get("fields", []))}
        for name, method in spec["methods"].items()
    }
    pending = set()
    for method in spec["methods"].values():
        for field in method.get("fields", []):
            pending |= _type_names(field["types"])
    types: dict[str, dict] = {}
    while pending:
        name = pending.pop()
        if name in types or name not in spec["types"]:
            continue
        source = spec["types"][name]
        entry: dict = {}
        if source.get("subtypes"):
            entry["subtypes"] = source["subtypes"]
            pending.update(source["subtypes"])
        if source.get("fields") is not None or not source.get("subtypes"):
            entry["fields"] = _fields(source.get("fields", []))
            for field in source.get("fields", []):
                pending |= _type_names(field["types"])
        if const := _const(source.get("fields", [])):
            entry["const"] = const
        types[name] = entry
    return {
        "version": spec["version"],
        "release_date": spec.get("release_date"),
        "methods": methods,
        "types": dict(sorted(types.items())),
    }


def dump(trimmed: dict) -> str:
    """One method or type per line: small, yet diffs stay readable across spec versions."""

    def compact(value: object) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    lines = [
        "{" + f'"version":{compact(trimmed["version"])},'
        f'"release_date":{compact(trimmed["release_date"])},'
    ]
    for section in ("methods", "types"):
        entries = [f"{compact(name)}:{compact(value)}" for name, value in trimmed[section].items()]
        closing = "}," if section == "methods" else "}}"
        lines += [f'"{section}":{{', ",\n".join(entries), closing]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    trimmed = trim(json.loads(args.source.read_text(encoding="utf-8")))
    args.output.write_text(dump(trimmed), encoding="utf-8")
    print(
        f"{args.output}: {len(trimmed['methods'])} methods, {len(trimmed['types'])} types "
        f"({trimmed['version']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
