"""What a run needs to be reproduced: its config, seeds, data files, package versions, code digest and
git commit."""

import hashlib
import importlib.metadata
import platform
import subprocess
from pathlib import Path

from layerwise.track.codeversion import PACKAGE, code_digest

# Every package that can change a number (optuna: TPE's proposals; scipy: the baseline's solver), and
# those that write the results.
PACKAGES = (
    "layerwise", "torch", "numpy", "scipy", "pandas", "scikit-learn", "optuna", "mnist1d", "mlflow", "snakemake",
    "matplotlib",
)  # fmt: skip


def versions() -> dict:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def git_state(folder=PACKAGE) -> dict | None:
    """The commit the library's sources are at, and whether they differ from it; None outside git."""

    def git(*args):
        return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=30)

    try:
        commit = git("rev-parse", "HEAD")
    except (OSError, subprocess.SubprocessError):  # no git here
        return None
    if commit.returncode != 0:
        return None
    dirty = git("status", "--porcelain", "--", str(folder)).stdout.strip() != ""
    return {"commit": commit.stdout.strip(), "dirty": dirty}


def file_digest(path: str) -> dict:
    """A data file's path, size and sha256: a result says which bytes it was computed from."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return {"path": path, "size": Path(path).stat().st_size, "sha256": digest.hexdigest()}


def provenance(config: dict, data_files: list[str]) -> dict:
    return {
        "config": config,
        "seed": config["seed"],
        "data_files": [file_digest(path) for path in data_files],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions(),
        "code_digest": code_digest(),
        "git": git_state(),
    }
