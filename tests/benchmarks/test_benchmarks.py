"""Every benchmark script, run in its tiny setting (benchmarks/README.md lists them) from the repository
root as the README runs it, so that a change that breaks a benchmark fails here and not at its next
measure. Each test checks the script's outputs' shape and that their numbers are numbers, never the
figures themselves: on a few hundred rows and 2 epochs they mean nothing."""

import math
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from support.repo import REPO

SEARCHES = {"layer1", "finetune"}
STRATEGIES = {"random", "grid", "multires", "coordinate", "tpe"}


def run(script: str, *arguments) -> str:
    """benchmarks/<script> run to the end with `arguments`; what it printed."""
    command = [sys.executable, str(Path("benchmarks") / script), *map(str, arguments)]
    process = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-5000:]
    return process.stdout


def markdown_rows(text: str) -> list[list[str]]:
    """The cells of every row of the Markdown tables in `text`, their header rows included, their rules not."""
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("|") and not set(line) <= set("|-: ")
    ]


def number(cell: str) -> float:
    """A table's number (1,234.5 or **1.23**), which must be finite."""
    value = float(cell.strip("*").replace(",", ""))
    assert math.isfinite(value), cell
    return value


def test_strategies(tmp_path):
    run("strategies.py", "--seeds", 1, "--tiny", "--out", tmp_path)
    trials = pd.read_csv(tmp_path / "strategies.csv")
    counts = trials.groupby(["search", "strategy"]).size()
    assert counts.to_dict() == {(search, strategy): 18 for search in SEARCHES for strategy in STRATEGIES}
    assert trials.objective.dropna().between(0, 1).all() and (trials.seed == 0).all()
    assert trials.groupby(["search", "strategy"]).objective.min().between(0, 1).all()  # a diverged trial has none
    table = (tmp_path / "strategies.md").read_text()
    assert all(f"('{search}', '{strategy}')" in table for search in SEARCHES for strategy in STRATEGIES)
    assert (tmp_path / "strategies.png").stat().st_size > 0


def test_peers(tmp_path):
    run("peers.py", "--seeds", 1, "--tiny", "--out", tmp_path)
    trials = pd.read_csv(tmp_path / "peers.csv")
    per_method = trials.groupby("method").n.max()
    assert len(per_method) == 8 and sorted(per_method.unique()) == [24, 96]
    assert per_method[per_method == 96].index.str.contains("packs").all()
    assert trials.groupby("method").best.last().between(0, 1).all()
    assert trials.groupby("method").cpu_s.apply(lambda cpu: cpu.is_monotonic_increasing and cpu.iloc[0] > 0).all()
    header, *rows = markdown_rows((tmp_path / "peers.md").read_text())
    assert "best after 24" in header and {row[0] for row in rows} == set(per_method.index)
    assert all(0 <= number(row[header.index("best at the end")]) <= 1 for row in rows)


def test_layer_objective(tmp_path):
    run("layer_objective.py", "--tiny", "--layer1", 4, "--layer2", 3, "--out", tmp_path)
    stacks = pd.read_csv(tmp_path / "layer_objective.csv")
    assert stacks.stage.value_counts().to_dict() == {"layer1": 4, "layer2": 3}
    assert stacks[["ridge", "ridge_cv", "logistic", "fine_tuned"]].stack().between(0, 1).all()
    header, *rows = markdown_rows((tmp_path / "layer_objective.md").read_text())
    assert [row[:3] for row in rows] == [
        [layer, objective, count] for layer, count in (("layer1", "4"), ("layer2", "3"))
        for objective in ("ridge", "ridge_cv", "logistic")
    ]  # fmt: skip


def test_halving(tmp_path):
    run("halving.py", "--tiny", "--seeds", 1, "--budget", 1, "--arms", "tpe", "halving", "--out", tmp_path)
    rounds = pd.read_csv(tmp_path / "halving.csv")
    for arm, rows in rounds.groupby("arm"):
        assert list(rows["round"]) == list(range(len(rows))) and (rows.trials > 0).all(), arm
        assert rows.cpu_s.is_monotonic_increasing and rows.cpu_s.iloc[0] > 0, arm
    assert set(rounds.arm) == {"tpe", "halving"}
    assert 0 <= rounds[rounds.arm == "tpe"].best.iloc[0] <= 1  # tpe's every trial trains its full budget
    assert rounds[rounds.arm == "halving"].rung.iloc[0] == 0
    assert (tmp_path / "halving.md").exists() and (tmp_path / "halving.png").stat().st_size > 0


def test_large_layers():
    header, *rows = markdown_rows(run("large_layers.py", "--rows", 200, "--batch-sizes", 32, 64, "--threads", 1))
    assert header[0] == "batch size" and [row[0] for row in rows] == ["32", "64"]
    for _, seconds, rate, fraction in (map(number, row) for row in rows):
        assert seconds >= 0 and rate > 0 and fraction > 0


def test_training_loop():
    shown = run("training_loop.py", "--repeats", 1, "--epochs", 1)
    assert [row[0] for row in markdown_rows(shown)[1:]] == ["bare", "pipeline"]
    assert number(re.search(r"pipeline / bare: median (\S+)", shown).group(1)) > 0


def test_pack_update():
    shown = run("pack_update.py", "--trials", 2, "--hidden", 8, "--updates", 10, "--repeats", 1)
    header, own, grouped = markdown_rows(shown)
    assert header[0] == "update" and own[0] == "pack's own step" and grouped[0].startswith("torch.optim.SGD")
    assert number(own[2]) == 1.0 and number(grouped[1]) > 0


@pytest.mark.parametrize("stage", ["layer1", "finetune"])
def test_vectorized_trials(stage):
    shown = run("vectorized_trials.py", "--tiny", "--stage", stage, "--trials", 4, "--packs", 4, "--threads", 1)
    header, alone, packed = markdown_rows(shown)
    assert header[0] == "pack size" and alone[0] == "1" and packed[0] == "4"
    seconds, rate, speed_up = map(number, packed[1:4])
    assert seconds >= 0 and rate > 0 and speed_up > 0
    if stage == "layer1":  # a pack of auto-encoders gives each trial its numbers alone
        assert packed[4] == "4/4"


@pytest.mark.e2e
def test_orchestration(tmp_path):
    arguments = ("--size", "tiny", "--trials", 2, "--epochs", 2, "--fork-server", "on", "--keep", tmp_path)
    header, row = markdown_rows(run("orchestration.py", *arguments))
    shown = dict(zip(header, row, strict=True))
    trials = pd.read_csv(tmp_path / "warm" / "results" / "orchestration-tiny-2" / "trials.csv")
    assert (shown["size"], shown["jobs"], int(shown["trials"])) == ("tiny", "forked", len(trials))
    assert set(trials.stage) == {"preprocess", "layer1", "layer2", "finetune"}
    assert all(number(shown[name]) > 0 for name in ("overhead", "with the seed study", "search"))


@pytest.mark.e2e
def test_scale_in_time(tmp_path):
    run("scale.py", "time", "--sizes", "1,1,2", "--epochs", 2, "--out", tmp_path)
    table = pd.read_csv(tmp_path / "scale.csv")
    assert table[["L", "K", "T"]].values.tolist() == [[1, 1, 2]]
    assert (table[["trials", "jobs", "training_s", "wall_s"]] > 0).all(axis=None)
    assert (tmp_path / "scale.png").stat().st_size > 0


def test_scale_in_memory():
    shown = run("scale.py", "memory", "--rows", 600, "--inputs", 40, "--hidden", 16)
    assert number(re.search(r"peak: (\S+) MiB", shown).group(1)) > 0


@pytest.mark.e2e
def test_tabular(tmp_path):
    run("tabular.py", "--tiny", "--datasets", "wine", "--out", tmp_path)
    header, row = markdown_rows((tmp_path / "tabular.md").read_text())
    shown = dict(zip(header, row, strict=True))
    assert (shown["data set"], shown["rows"]) == ("wine", "178")
    assert all(0 <= number(shown[name]) <= 1 for name in ("final model", "logistic baseline", "ensemble of refits"))
