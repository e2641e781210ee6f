"""What a run needs to be reproduced: its config, seeds, data files, package versions, code digest and
git commit."""

import importlib.metadata
import platform
import subprocess
from contextlib import contextmanager
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
    from layerwise.files import sha256

    return {"path": path, "size": Path(path).stat().st_size, "sha256": sha256(path)}


def source_tags() -> dict:
    """MLflow's own tags of where a run comes from, which fill the UI's Source and User columns: the
    workflow's Snakefile, the commit of its sources, the user who ran it."""
    import getpass

    snakefile = PACKAGE.parents[1] / "Snakefile"  # beside src/ in a checkout
    tags = {
        "mlflow.source.type": "PROJECT",
        "mlflow.source.name": str(snakefile) if snakefile.exists() else "layerwise",
        "mlflow.user": getpass.getuser(),
    }
    git = git_state()
    if git:
        tags["mlflow.source.git.commit"] = git["commit"]
    return tags


@contextmanager
def files_read(paths: list[str | None], record: str):
    """Around the reading of the data files `paths` (None: not given): writes their digests to `record`,
    the bytes the run was computed from; DataError where a file changed while it was read."""
    from layerwise.data.tables import DataError
    from layerwise.files import write_json

    paths = [path for path in paths if path]
    before = [file_digest(path) for path in paths if Path(path).is_file()]
    yield
    after = [file_digest(path) for path in paths]
    for was, now in zip(before, after, strict=True):
        if was != now:
            raise DataError(f"{now['path']}: changed while it was read; run again once it is written")
    write_json(record, after)


def provenance(config: dict, data_files: list[dict]) -> dict:
    """`data_files`: as files_read recorded them."""
    return {
        "config": config,
        "seed": config["seed"],
        "data_files": data_files,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions(),
        "code_digest": code_digest(),
        "git": git_state(),
    }
