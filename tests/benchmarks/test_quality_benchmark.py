"""benchmarks/quality.py at its tiny setting (the smoke config, one draw, a few CPU seconds of Optuna):
the whole comparison runs, with every option at once (shuffled columns, half the labels, the ablation:
one snakemake run each side saves), and each side's row holds finite figures of the right range."""

import math
import subprocess
import sys

import pandas as pd
import pytest

from support.repo import REPO

pytestmark = pytest.mark.e2e  # a snakemake run

SIDES = {"layerwise (default config)", "Optuna TPE + refit ensemble", "layerwise, no pretraining"}
ACCURACIES = ("single_test_accuracy", "test_accuracy", "baseline_test_accuracy")


def test_the_tiny_quality_benchmark_compares_every_side(tmp_path):
    options = ["--permuted", "--labels", "0.5", "--ablation"]
    command = [sys.executable, "benchmarks/quality.py", "--tiny", *options, "--name", "tiny", "--out", str(tmp_path)]
    process = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert process.returncode == 0, (process.stdout + process.stderr)[-5000:]
    rows = pd.read_csv(tmp_path / "tiny.csv")
    assert set(rows.side) == SIDES and len(rows) == 3
    assert (rows.draw == 1).all() and (rows.seed == 0).all()
    for _, row in rows.iterrows():
        for column in (*ACCURACIES, "valid_error"):
            assert 0.0 <= row[column] <= 1.0, (row.side, column, row[column])
        for column in ("cpu_s", "wall_s", "refit_s"):
            assert math.isfinite(row[column]) and row[column] > 0, (row.side, column, row[column])
        assert row.trials >= 1
    assert rows.set_index("side").reported["Optuna TPE + refit ensemble"] == "ensemble"
    assert (
        "layerwise ahead of Optuna TPE + refit ensemble on final-model test accuracy in"
        in (tmp_path / "tiny.md").read_text()
    )
    assert (tmp_path / "tiny.png").stat().st_size > 0
