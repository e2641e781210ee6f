"""Runs of the workflow through `snakemake`, each in its own folder with its own MLflow store."""

import copy
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from support.repo import REPO


def deep_merge(base: dict, changes: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        merged[key] = (
            deep_merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
        )
    return merged


# What a test about something else need not run: one preprocessing candidate, a one-seed seed study.
LEAN = {
    "preprocess": {"space": {"pipeline": "standardize"}},
    "evaluate": {"seeds": 1, "refit_on_train_valid": False},
}


def smoke_config(**changes) -> dict:
    return deep_merge(yaml.safe_load((REPO / "config" / "smoke.yaml").read_text()), changes)


def sharded_smoke_config(shards: int) -> dict:
    """The smoke config with `shards` shards in every stage."""
    return smoke_config(**{stage: {"shards": shards} for stage in ("preprocess", "pretrain", "finetune")})


def snakemake_command(workdir: Path, config: dict, *args: str, cores: int = 2) -> tuple[list[str], dict]:
    """The command line and environment that run snakemake on the repository's Snakefile in `workdir`,
    with `config` written there."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
        "--configfile", str(config_path), "--cores", str(cores), *args,
    ]  # fmt: skip
    environment = {key: value for key, value in os.environ.items() if key != "MLFLOW_TRACKING_URI"}
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment['PATH']}"  # the `layerwise` command
    return command, environment


def snakemake(workdir: Path, config: dict, *args: str, cores: int = 2, env: dict | None = None):
    """Runs snakemake to the end; `env` adds environment variables (e.g. MLFLOW_TRACKING_URI)."""
    command, environment = snakemake_command(workdir, config, *args, cores=cores)
    return subprocess.run(command, capture_output=True, text=True, env=environment | (env or {}), timeout=900)


def start_snakemake(workdir: Path, config: dict, *args: str, cores: int = 2) -> subprocess.Popen:
    """Starts snakemake in a session of its own (so a test can signal its whole process group, as
    Ctrl-C in a terminal does), writing its output to `workdir/snakemake.out`."""
    command, environment = snakemake_command(workdir, config, *args, cores=cores)

    def as_in_a_terminal():  # a shell's background job (CI) ignores SIGINT, and children inherit that
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    with (workdir / "snakemake.out").open("w") as output:
        return subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=environment, start_new_session=True,
            preexec_fn=as_in_a_terminal,
        )  # fmt: skip


class Run:
    def __init__(self, workdir: Path, config: dict, process: subprocess.CompletedProcess):
        self.workdir, self.config, self.process = workdir, config, process
        self.results = workdir / "results" / config["experiment"]
        self.tracking_uri = f"sqlite:///{workdir / 'results' / 'mlflow.db'}"

    @property
    def output(self) -> str:
        return self.process.stdout + self.process.stderr

    def mlflow_runs(self, filter_string: str = "") -> list:
        """Every MLflow run of the experiment (pipeline, stages, trials, evaluation)."""
        import mlflow

        mlflow.set_tracking_uri(self.tracking_uri)
        return mlflow.search_runs(
            experiment_names=[self.config["experiment"]], filter_string=filter_string, output_format="list"
        )


def same_numbers(run: Run, reference: Run) -> None:
    """Every trial's objective, metrics and hyper-parameters, and every test metric, equal the
    reference's bit for bit."""
    mine, theirs = (pd.read_csv(r.results / "trials.csv").set_index("trial_id").sort_index() for r in (run, reference))
    columns = [c for c in theirs.columns if c not in ("duration_s", "mlflow_run_id", "shard")]
    pd.testing.assert_frame_equal(mine[columns], theirs[columns], check_exact=True)
    summaries = [json.loads((r.results / "summary.json").read_text()) for r in (run, reference)]
    for key in ("test_error", "valid_error", "selected_trial"):
        assert summaries[0][key] == summaries[1][key]
    assert summaries[0]["seed_study"]["seeds"] == summaries[1]["seed_study"]["seeds"]
