"""The commands a person runs on a run's results: `status` while it goes, `best` and `compare` after."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from support.repo import REPO
from support.runner import LEAN, Run, smoke_config, start_snakemake

pytestmark = pytest.mark.e2e

LAYERWISE = str(Path(sys.executable).parent / "layerwise")
COLUMNS = ("stage", "round", "finished", "failed", "running", "left", "best")


def layerwise(*arguments, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([LAYERWISE, *map(str, arguments)], cwd=cwd, capture_output=True, text=True, timeout=60)


def table(output: str) -> pd.DataFrame:
    """The per-stage-and-round rows of `layerwise status`."""
    rows = [cells for cells in map(str.split, output.splitlines()[2:]) if len(cells) == 7 and cells[1].isdigit()]
    frame = pd.DataFrame([row[:6] for row in rows], columns=COLUMNS[:6])
    return frame.astype({name: int for name in COLUMNS[2:6] if not frame.empty and name != "left"})


@pytest.fixture(scope="module")
def watched_run(tmp_path_factory) -> tuple[Run, list[pd.DataFrame]]:
    """The smoke config with another seed, `layerwise status` polled all along."""
    workdir, config = tmp_path_factory.mktemp("watched"), smoke_config(experiment="watched", seed=1)
    process, polls = start_snakemake(workdir, config), []
    results = workdir / "results" / "watched"
    while process.poll() is None:
        shown = layerwise("status", results, cwd=workdir)
        if shown.returncode == 0:
            polls.append(table(shown.stdout))
        time.sleep(0.3)
    output = (workdir / "snakemake.out").read_text()
    run = Run(workdir, config, subprocess.CompletedProcess(process.args, process.returncode, output, ""))
    assert process.returncode == 0, output[-5000:]
    return run, polls


def test_status_shows_trials_running_while_the_run_goes(watched_run):
    _, polls = watched_run
    assert any((poll.running > 0).any() for poll in polls if not poll.empty)
    assert any((poll.finished > 0).any() for poll in polls if not poll.empty)


def test_status_at_the_end_counts_what_the_records_hold(watched_run):
    run, _ = watched_run
    shown = layerwise("status", run.results, cwd=run.workdir)
    assert shown.returncode == 0 and "ended: test accuracy" in shown.stdout
    counted = table(shown.stdout).groupby("stage")[["finished", "failed", "running"]].sum()
    trials = pd.read_csv(run.results / "trials.csv")
    for stage, rows in trials.groupby("stage"):
        assert counted.loc[stage, "finished"] == (rows.status == "FINISHED").sum(), stage
        assert counted.loc[stage, "failed"] == (rows.status == "FAILED").sum(), stage
        assert counted.loc[stage, "running"] == 0
    plan = pd.read_json(run.results / "plan.json", typ="series")  # what status times the run by
    assert [stage["stage"] for stage in plan["stages"]] == list(dict.fromkeys(trials.stage))


def test_best_names_the_final_model_its_configuration_and_figures(watched_run):
    run, _ = watched_run
    shown = layerwise("best", run.results, cwd=run.workdir)
    summary = pd.read_json(run.results / "summary.json", typ="series")
    assert shown.returncode == 0
    assert f"test accuracy {summary['test_accuracy']:.2%}" in shown.stdout
    assert summary["selected_trial"] in shown.stdout and str(run.results / "model") in shown.stdout
    assert str(run.results / "beam.png") in shown.stdout


def test_compare_shows_both_runs_and_the_settings_that_differ(watched_run, smoke_run):
    run, _ = watched_run
    shown = layerwise("compare", smoke_run.results, run.results, cwd=run.workdir)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].split() == [str(smoke_run.results), str(run.results)]
    differences = [line.split()[0] for line in lines[lines.index("config differences:") + 1 :]]
    assert {"seed", "experiment"} <= set(differences)
    assert "preprocess.shards" in differences  # 3 shards per stage in the smoke run, 1 here


def test_status_of_a_folder_that_holds_no_run_says_so(tmp_path):
    shown = layerwise("status", tmp_path, cwd=tmp_path)
    assert shown.returncode == 1 and "not the results of a run" in shown.stderr


def test_compare_names_a_missing_provenance_file(smoke_run, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(smoke_run.results, copy)
    (copy / "provenance.json").unlink()
    done = layerwise("compare", smoke_run.results, copy, cwd=tmp_path)
    assert done.returncode == 1 and f"error: {copy / 'provenance.json'}: missing" in done.stderr
    assert done.stderr.count("\n") == 1


def test_a_reader_that_stops_early_ends_the_command_quietly(smoke_run):
    # `layerwise best | head -1`: a pipe whose reader has gone before the command writes
    script = (
        "import os\n"
        "read, write = os.pipe(); os.close(read); os.dup2(write, 1)\n"
        "from layerwise.command.cli import run\n"
        f"run(['best', {str(smoke_run.results)!r}])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 141 and done.stderr == ""


BARE = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")}  # a new shell, nothing activated


def test_the_readme_commands_work_as_printed_in_a_new_shell(smoke_run, tmp_path):
    """`.venv/bin/snakemake ...` and `.venv/bin/layerwise ...`, as the README prints them: the workflow
    finds the `layerwise` command beside the Python that runs Snakemake."""
    environment = Path(sys.executable).parent  # .venv/bin
    report = subprocess.run(
        [environment / "snakemake", "--report", "report.html", "--configfile", "config.yaml", "--snakefile",
         REPO / "Snakefile"],
        cwd=smoke_run.workdir, env=BARE, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr[-2000:]
    assert (smoke_run.workdir / "report.html").stat().st_size > 0
    config = smoke_config(experiment="bare", **LEAN)
    (tmp_path / "my-data.yaml").write_text(yaml.safe_dump(config))
    target = "results/bare/data/raw/schema.json"  # a job that runs `layerwise step ...` in its shell
    run = subprocess.run(
        [environment / "snakemake", "--cores", "all", "--configfile", "my-data.yaml", "--snakefile",
         REPO / "Snakefile", target],
        cwd=tmp_path, env=BARE, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert (tmp_path / target).exists()
    best = subprocess.run(
        [environment / "layerwise", "best", smoke_run.results], env=BARE, capture_output=True, text=True
    )
    assert best.returncode == 0 and "test accuracy" in best.stdout
