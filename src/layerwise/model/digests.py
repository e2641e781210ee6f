"""A model folder's record of its own files: each file's sha256, written when the folder is packaged and
checked before `layerwise predict` loads anything from it.

A model folder is code (the preprocessing is a pickle, and so is MLflow's python_model.pkl): it must be
trusted as code is. The record does not make a folder from someone else safe; it catches a file changed
or replaced since packaging (a damaged copy, an edit) before anything is unpickled.
"""

import json
from pathlib import Path

from layerwise.data.tables import DataError
from layerwise.files import read_json, sha256

DIGESTS = "layerwise-digests.json"
SKIPPED = "__pycache__"  # Python writes these beside the model's code when MLflow imports it


def files_of(folder: Path) -> dict[str, str]:
    """Each file under `folder` (but the record and Python's caches) by its relative path: its sha256."""
    return {
        path.relative_to(folder).as_posix(): sha256(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != DIGESTS and SKIPPED not in path.relative_to(folder).parts
    }


def write_digests(folder: str) -> None:
    root = Path(folder)
    (root / DIGESTS).write_text(json.dumps(files_of(root), indent=2) + "\n")


def check_digests(folder: str) -> None:
    """Raises DataError naming the first file of `folder`'s record that is missing or differs from it, or
    when the folder has no record. Files the record does not list are let be: nothing loads them (the
    workflow's own marks, such as Snakemake's .snakemake_timestamp, are among them)."""
    root, record = Path(folder), Path(folder) / DIGESTS
    try:
        recorded = read_json(record)
    except FileNotFoundError:
        raise DataError(
            f"{folder}: no {DIGESTS}: not a model folder layerwise packaged (or one packaged before it recorded "
            "its files); a model folder is code, load only one you trust (rerun the workflow's evaluate step)"
        ) from None
    except (OSError, ValueError) as error:
        raise DataError(f"{record}: unreadable record of the model's files ({error})") from error
    if not isinstance(recorded, dict):
        raise DataError(f"{record}: not a record of the model's files (a JSON object of path: sha256)")
    for name, digest in sorted(recorded.items()):
        if not (root / name).is_file():
            raise DataError(f"{root / name}: missing from the model folder ({DIGESTS} lists it)")
        if sha256(root / name) != digest:
            raise DataError(
                f"{root / name}: changed since the model was packaged (its sha256 differs from {DIGESTS}); "
                "refused before loading anything, a model folder is code"
            )
