"""Seeds derived from names, so a trial's randomness never depends on where or when it runs.

torch is imported where it is seeded: the config check derives seeds in Snakemake's own process."""

import hashlib
import os
import random

import numpy as np


def derive_seed(*parts) -> int:
    """A 31-bit seed that is a pure function of `parts` (e.g. global seed, stage, round, index)."""
    digest = hashlib.sha256("/".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def seed_everything(seed: int) -> None:
    """Seed every generator a trial touches: Python, NumPy and torch (init, data order, noise)."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def configure_torch(threads: int) -> None:
    """Deterministic kernels with a fixed thread count: the same trial gives the same bits."""
    import torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS is deterministic only with it
    torch.set_num_threads(max(1, threads))
    torch.use_deterministic_algorithms(True)
