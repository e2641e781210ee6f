"""Small file helpers: results are written whole or not at all; nested JSON as dotted keys."""

import dataclasses
import json
import os
from pathlib import Path


def write_json(path: str, data) -> None:
    """Writes through a temporary file and renames it, so a killed job never leaves half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(temporary, target)


def read_json(path: str):
    return json.loads(Path(path).read_text())


def check_fields(kind: type, values: dict, what: str) -> None:
    """The keys of a dataclass's JSON form are its fields: one it does not know is an error, not a
    silently ignored key."""
    unknown = sorted(set(values) - {field.name for field in dataclasses.fields(kind)})
    if unknown:
        raise ValueError(f"{what} does not have {', '.join(unknown)}")


def flatten(mapping: dict, prefix: str = "") -> dict:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists become their JSON text (a config as MLflow params, or compared)."""
    flat = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = json.dumps(value) if isinstance(value, list) else value
    return flat


def sha256(path: str | Path) -> str:
    """A file's sha256, read a megabyte at a time."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
