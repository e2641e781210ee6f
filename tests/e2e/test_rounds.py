"""Adaptive strategies through `snakemake`: rounds in the static DAG, each built on the rounds before."""

import copy
import json
import math
import re

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from support.runner import LEAN, Run, smoke_config, snakemake

pytestmark = pytest.mark.e2e


def rounds_config() -> dict:
    config = smoke_config(
        experiment="rounds",
        preprocess={"strategy": {"name": "random"}, "trials": 1, "space": {"pipeline": "standardize"}},
        pretrain={
            "layers": 1, "top_k": 1, "trials_per_parent": 3, "shards": 2, "pack_size": 3,
            "strategy": {"name": "multires", "rounds": 2, "grid": {"learning_rate": 3}},
        },
        finetune={
            "trials_per_parent": 2, "pack_size": 2, "strategy": {"name": "tpe", "rounds": 2, "extend_on_border": True},
        },
        evaluate=LEAN["evaluate"],
    )  # fmt: skip
    config["pretrain"]["space"] = {
        "learning_rate": {"type": "float", "low": 0.001, "high": 0.1, "log": True},
        "hidden_units": 16, "epochs": 1, "batch_size": 64,
    }  # fmt: skip
    # one shape for the no-pretraining arm, so that its trials of a round train in one pack too
    config["finetune"]["space"] |= {"hidden_layers": 1, "hidden_units": 16}
    return config


@pytest.fixture(scope="module")
def rounds_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("rounds")
    run = Run(workdir, rounds_config(), snakemake(workdir, rounds_config()))
    assert run.process.returncode == 0, run.output[-5000:]
    return run


def test_each_round_is_a_set_of_shard_jobs_in_the_static_dag(tmp_path):
    process = snakemake(tmp_path, rounds_config(), "-n")
    assert process.returncode == 0, process.stderr
    jobs = [line.split() for line in process.stdout.splitlines()]
    assert ["run_shard", str(1 + 2 * 2 + 2 * 2)] in jobs  # preprocess, layer1 and finetune: 2 rounds of 2 shards


def test_the_second_round_narrows_the_grid_around_the_first_rounds_best(rounds_run):
    table = pd.read_csv(rounds_run.results / "trials.csv")
    layer = table[table.stage == "layer1"]
    first, second = layer[layer["round"] == 0], layer[layer["round"] == 1]
    assert sorted(first.learning_rate) == pytest.approx([0.001, 0.01, 0.1])
    best = first.sort_values(["objective", "index"]).learning_rate.iloc[0]
    exponents = sorted(math.log10(rate) for rate in second.learning_rate)
    assert exponents[-1] - exponents[0] == pytest.approx(1.0)  # half the span of [1e-3, 1e-1]
    assert exponents[0] - 1e-9 <= math.log10(best) <= exponents[-1] + 1e-9


def test_layer_and_fine_tuning_trials_train_in_packs_and_each_trial_keeps_its_own_run(rounds_run):
    shards = {
        path.stem: json.loads(path.read_text()) for path in (rounds_run.results / "layer1" / "shards").glob("r*.json")
    }
    # one shard of each round takes the round's one pack
    assert sorted(len(shard["records"]) for shard in shards.values()) == [0, 0, 3, 3]
    client = MlflowClient(rounds_run.tracking_uri)
    for shard in shards.values():
        records = shard["records"]
        assert len({record["duration_s"] for record in records}) <= 1  # each has its share of the pack's time
        for record in records:
            run = client.get_run(record["mlflow_run_id"])
            assert run.info.status == "FINISHED" and run.data.tags["layerwise.status"] == "FINISHED"
            assert run.data.tags["layerwise.shard"] == str(record["shard"]) == str(shard["shard"])
            assert run.data.tags["layerwise.pack"] == record["pack"] == f"layer1-r{record['round']}-p0000"
            assert float(run.data.params["learning_rate"]) == record["params"]["learning_rate"]
            curve = client.get_metric_history(run.info.run_id, "valid_loss")
            assert [point.value for point in curve] == record["curves"]["valid_loss"]
            assert run.data.metrics["objective"] == record["objective"]
    table = pd.read_csv(rounds_run.results / "trials.csv")
    assert set(table[table.stage == "layer1"].pack) == {"layer1-r0-p0000", "layer1-r1-p0000"}
    ran = {(r["round"], r["index"]): shard["shard"] for shard in shards.values() for r in shard["records"]}
    assert [ran[row.round, row.index] for row in table[table.stage == "layer1"].itertuples()] == list(
        table[table.stage == "layer1"].shard
    )
    tuning = table[table.stage == "finetune"]  # each arm's 2 trials of a round: one pack
    assert list(tuning.pack) == [f"finetune-r{row.round}-p{row.index // 2:04d}" for row in tuning.itertuples()]
    assert all(len(set(pack.duration_s)) == 1 for _, pack in tuning.groupby("pack"))


def test_selection_ranks_every_round_and_mlflow_tags_each_trial_with_its_round(rounds_run):
    table = pd.read_csv(rounds_run.results / "trials.csv")
    tuning = table[table.stage == "finetune"]
    assert sorted(set(tuning["round"])) == [0, 1] and len(tuning) == 2 * 2 * 2
    first_round_log = (rounds_run.results / "logs" / "finetune" / "r0-shard-0.log").read_text()
    assert "4 trials in 2 packs in the round, on cpu; per arm: [2, 2]" in first_round_log  # round 0: even
    summary = json.loads((rounds_run.results / "summary.json").read_text())
    best = tuning.sort_values(["objective", "round", "index"]).iloc[0]
    assert summary["selected_trial"] == best.trial_id
    mlflow.set_tracking_uri(rounds_run.tracking_uri)
    runs = mlflow.search_runs(experiment_names=["rounds"], filter_string="tags.`layerwise.role` = 'trial'")
    logged = sorted(zip(runs["tags.mlflow.runName"], runs["tags.layerwise.round"], strict=True))
    assert logged == sorted(zip(table.trial_id, table["round"].astype(str), strict=True))


def test_widened_intervals_are_recorded_on_the_trials_and_the_stage(rounds_run):
    records = [
        record
        for path in sorted((rounds_run.results / "finetune" / "shards").glob("r*.json"))
        for record in json.loads(path.read_text())["records"]
    ]
    selection = json.loads((rounds_run.results / "finetune" / "selected.json").read_text())
    assert selection["extended"] == sorted({step for record in records for step in record["extended"]})
    assert all(not record["extended"] for record in records if record["round"] == 0)
    mlflow.set_tracking_uri(rounds_run.tracking_uri)
    runs = mlflow.search_runs(experiment_names=["rounds"], filter_string="tags.`layerwise.stage` = 'finetune'")
    tags = dict(zip(runs["tags.mlflow.runName"], runs.get("tags.layerwise.extended", [None] * len(runs)), strict=True))
    for record in records:
        expected = "; ".join(record["extended"]) or None
        assert (tags[record["trial_id"]] if isinstance(tags[record["trial_id"]], str) else None) == expected


def test_raising_the_rounds_later_runs_only_the_new_round(rounds_run):
    more = copy.deepcopy(rounds_run.config)
    more["pretrain"]["strategy"]["rounds"] = 3
    process = snakemake(rounds_run.workdir, more, "-n")
    assert process.returncode == 0, process.stderr
    outputs = "\n".join(line for line in process.stdout.splitlines() if line.strip().startswith("output:"))
    planned = set(re.findall(r"layer1/shards/(r\d+-\d+)\.json", outputs))
    assert planned == {"r2-0", "r2-1"}  # rounds 0 and 1 are reused
    snakemake(rounds_run.workdir, rounds_run.config, "-n")  # leave the folder's config as it was
