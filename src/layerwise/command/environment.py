"""Which `layerwise` command the workflow's jobs run: the one installed beside the Python that runs
Snakemake, so that `.venv/bin/snakemake ...` works as printed, without activating the environment."""

import os
import sys
from pathlib import Path


def command_beside_python_first() -> None:
    """Puts the folder of this Python's `layerwise` first on PATH (jobs inherit it), where there is one."""
    folder = Path(sys.executable).parent
    if (folder / "layerwise").exists():
        os.environ["PATH"] = f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"
