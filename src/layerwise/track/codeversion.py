"""A digest of the library's own sources.

Snakemake does not notice edits to an imported package, so every rule takes this digest as a
param: changing the code changes the param, and Snakemake reruns the rules that use it.
"""

import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]  # layerwise/, with its subpackages


def code_digest(package: Path = PACKAGE) -> str:
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]
