"""What a run needs to be reproduced: its config, seeds, package versions, code digest and git commit."""

import importlib.metadata
import platform
import subprocess

from layerwise.codeversion import PACKAGE, code_digest

PACKAGES = ("layerwise", "torch", "numpy", "pandas", "scikit-learn", "mnist1d", "mlflow", "snakemake", "matplotlib")


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


def provenance(config: dict) -> dict:
    return {
        "config": config,
        "seed": config["seed"],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions(),
        "code_digest": code_digest(),
        "git": git_state(),
    }
