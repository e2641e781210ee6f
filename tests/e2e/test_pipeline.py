"""The default pipeline on the smoke config: DAG, MLflow tree, lineage, tables, determinism."""

import json
import re
import statistics
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from mlflow.tracking import MlflowClient

from layerwise.learn.learners import ALGORITHMS
from layerwise.model.network import load_network, network_from
from layerwise.records import read_shards
from layerwise.stages.baseline import as_network, cross_fitted_wrong, logistic_regression
from layerwise.stages.choice import choose, folds
from support.repo import REPO
from support.runner import LEAN, smoke_config, snakemake

pytestmark = pytest.mark.e2e


def test_dry_run_shows_the_whole_dag(tmp_path):
    process = snakemake(tmp_path, smoke_config(), "-n")
    assert process.returncode == 0, process.stderr
    counts = {}
    for line in process.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    expected = {
        "prepare_data": 1,
        "preprocess": 1,
        "init_tracking": 1,
        "init_stage": 4,
        "run_shard": 7,
        "select_preprocess": 1,
        "select_layer": 2,
        "select_finetune": 1,
        "retrain": 3,  # the seed study's 3 seeds
        "evaluate": 1,
        "package_model": 1,
        "report": 1,
    }
    assert {rule: counts.get(rule) for rule in expected} == expected
    assert not (tmp_path / "results").exists()


def test_lint_reports_nothing(tmp_path):
    process = snakemake(tmp_path, smoke_config(), "--lint")
    assert process.returncode == 0
    assert "Lints for" not in process.stdout + process.stderr, process.stdout + process.stderr


def test_every_rule_that_runs_library_code_reruns_when_the_code_changes():
    checked = set()
    for rules in (REPO / "rules").glob("*.smk"):
        for block in re.split(r"^rule ", rules.read_text(), flags=re.MULTILINE)[1:]:
            name = block.split(":")[0]
            if re.search(r"^    shell:\n        STEP$", block, flags=re.MULTILINE):
                assert "code=CODE" in block and "log:" in block, f"{rules.name}: rule {name}"
                checked.add(name)
    assert {"prepare_data", "run_shard", "select_layer", "evaluate", "package_model", "report"} <= checked


def test_mlflow_holds_the_run_tree(smoke_run):
    runs = smoke_run.mlflow_runs()
    by_role = {}
    for run in runs:
        by_role.setdefault(run.data.tags["layerwise.role"], []).append(run)
    assert len(by_role["pipeline"]) == 1 and len(by_role["evaluation"]) == 1
    pipeline = by_role["pipeline"][0]
    stages = {run.data.tags["layerwise.stage"]: run for run in by_role["stage"]}
    assert sorted(stages) == ["finetune", "layer1", "layer2", "preprocess"]
    assert all(
        run.data.tags["mlflow.parentRunId"] == pipeline.info.run_id for run in by_role["stage"] + by_role["evaluation"]
    )
    client = MlflowClient(smoke_run.tracking_uri)
    for stage in by_role["stage"]:
        assert "layerwise.border" in stage.data.tags  # "none", or what lies on the border
        assert {"border.csv"} <= {a.path for a in client.list_artifacts(stage.info.run_id)}
    trials = by_role["trial"]
    records = read_shards([str(path) for path in smoke_run.results.glob("*/shards/*.json")])
    curves = {record.trial_id: record.curves for record in records}
    # preprocessing, layer 1, layer 2 on K=2 parents, fine-tuning on K=2 + no-pretraining
    assert len(trials) == 3 + 3 + 2 * 3 + 3 * 2
    for trial in trials:
        stage = trial.data.tags["layerwise.stage"]
        assert trial.data.tags["mlflow.parentRunId"] == stages[stage].info.run_id
        assert trial.info.status == "FINISHED"
        assert "objective" in trial.data.metrics
        assert trial.data.params["seed"] == trial.data.tags["layerwise.seed"]
        suffix = ".joblib" if stage == "preprocess" else ".pt"
        assert [a.path for a in client.list_artifacts(trial.info.run_id)] == [f"{trial.info.run_name}{suffix}"]
        if stage == "finetune":
            searched = ["learning_rate", "nesterov", "layer_lr_decay", "l1_input", "l2_output", "proximal_l1"]
            assert all(name in trial.data.params for name in searched)
        trained = curves[trial.info.run_name]
        if stage == "finetune" or trial.data.params.get("algorithm", "none") != "none":
            assert len(trained["valid_loss"]) >= 2
        for name, values in trained.items():  # logged epoch by epoch while the trial trained
            history = client.get_metric_history(trial.info.run_id, name)
            assert [(m.step, m.value) for m in history] == list(enumerate(values, start=1))
    logged_config = client.download_artifacts(pipeline.info.run_id, "config.json", str(smoke_run.workdir))
    assert json.loads(open(logged_config).read())["pretrain"]["top_k"] == 2
    evaluation = by_role["evaluation"][0]
    models = client.search_logged_models(experiment_ids=[pipeline.info.experiment_id])
    assert [model.source_run_id for model in models] == [evaluation.info.run_id]


def test_each_layer_trial_records_the_hyper_parameters_of_its_own_algorithm(smoke_run):
    layer_trials = [
        run
        for run in smoke_run.mlflow_runs()
        if run.data.tags["layerwise.role"] == "trial" and run.data.tags["layerwise.stage"].startswith("layer")
    ]
    algorithms = {run.data.params["algorithm"] for run in layer_trials}
    assert {"rbm", "none", "denoising_autoencoder", "sparse_autoencoder"} <= algorithms  # smoke.yaml's choices
    for run in layer_trials:
        algorithm = run.data.params["algorithm"]
        assert set(run.data.params) == {"algorithm", "seed", *ALGORITHMS[algorithm].uses}, algorithm
        if algorithm == "rbm":
            assert run.data.params["rbm_visible"] in {"bernoulli", "gaussian"}  # "auto" is settled by the input
        if algorithm == "none":
            assert run.data.metrics["stopped_epoch"] == 0 and "reconstruction_valid" not in run.data.metrics
        else:
            assert run.data.metrics["reconstruction_valid"] > 0


def test_the_best_preprocessing_candidate_feeds_the_later_stages(smoke_run):
    table = pd.read_csv(smoke_run.results / "trials.csv")
    candidates = table[table.stage == "preprocess"].sort_values(["objective", "index"])
    assert len(candidates) == 3 and candidates.pipeline.nunique() > 1
    best = candidates.iloc[0]
    summary = json.loads((smoke_run.results / "summary.json").read_text())
    assert summary["selected"]["preprocessing"]["trial_id"] == best.trial_id
    assert summary["selected"]["preprocessing"]["params"]["pipeline"] == best.pipeline
    features = np.load(smoke_run.results / "data" / "train.npz")["x"].shape[1]
    assert features == best.n_features
    assert summary["selected"]["architecture"]["n_in"] == features


def test_layer_two_grows_only_from_layer_one_survivors(smoke_run):
    kept = {
        entry["trial_id"] for entry in json.loads((smoke_run.results / "layer1" / "topk.json").read_text())["entries"]
    }
    assert len(kept) == 2
    table = pd.read_csv(smoke_run.results / "trials.csv")
    assert set(table[table.stage == "layer2"].parent_trial) == kept
    widths = table.set_index("trial_id").hidden_units  # smoke.yaml ties layer sizes
    layer2 = table[table.stage == "layer2"]
    assert list(layer2.hidden_units) == [widths[parent] for parent in layer2.parent_trial]
    runs = [
        r
        for r in smoke_run.mlflow_runs()
        if r.data.tags.get("layerwise.stage") == "layer2" and r.data.tags["layerwise.role"] == "trial"
    ]
    assert {r.data.tags["layerwise.parent_trial"] for r in runs} == kept


def test_summary_and_trials_table_agree_with_mlflow(smoke_run):
    summary = json.loads((smoke_run.results / "summary.json").read_text())
    table = pd.read_csv(smoke_run.results / "trials.csv")
    parquet = pd.read_parquet(smoke_run.results / "trials.parquet")
    assert list(parquet.trial_id) == list(table.trial_id) and list(parquet.columns) == list(table.columns)
    assert parquet.objective.to_numpy() == pytest.approx(table.objective.to_numpy(), nan_ok=True)
    runs = {run.info.run_id: run for run in smoke_run.mlflow_runs()}
    assert len(table) == 18
    assert list(table.stage.unique()) == ["preprocess", "layer1", "layer2", "finetune"]  # in the order they ran
    for row in table.itertuples():
        run = runs[row.mlflow_run_id]
        assert run.info.run_name == row.trial_id and run.info.status == row.status
        assert run.data.metrics["objective"] == pytest.approx(row.objective)
    assert summary["mlflow"]["pipeline_run_id"] in runs
    evaluation = runs[summary["mlflow"]["evaluation_run_id"]]
    assert evaluation.data.metrics["test_accuracy"] == pytest.approx(summary["test_accuracy"])
    assert summary["test_error"] == pytest.approx(1 - summary["test_accuracy"])
    best = table[table.stage == "finetune"].sort_values(["objective", "index"]).iloc[0]
    assert summary["selected_trial"] == best.trial_id and summary["valid_error"] == pytest.approx(best.objective)
    assert set(summary["pretraining_comparison"]) == {"pretrained", "no_pretraining"}
    tuning = table[(table.stage == "finetune") & (table.status == "FINISHED")]
    pretrained_trials = int(tuning.parent_trial.notna().sum())  # each side's share of the finished trials
    assert summary["pretraining_comparison"]["pretrained"]["trials"] == pretrained_trials
    assert summary["pretraining_comparison"]["no_pretraining"]["trials"] == len(tuning) - pretrained_trials
    assert f"({pretrained_trials} trials)" in (smoke_run.results / "summary.md").read_text()
    assert sorted(summary["stages"]) == ["finetune", "layer1", "layer2", "preprocess"]
    for stage, overview in summary["stages"].items():
        rows = table[table.stage == stage]
        assert overview["n_trials"] == len(rows) and overview["n_failed"] == (rows.status == "FAILED").sum()
        flagged = {w["hyper_parameter"] for w in overview["border"]}
        best = rows.sort_values(["objective", "round", "index"]).iloc[0]
        listed = best.on_border if isinstance(best.on_border, str) else ""  # an empty cell reads as NaN
        on_border = {item.split(":")[0] for item in listed.split(", ") if item}
        assert flagged == on_border, stage
    assert f"test accuracy {summary['test_accuracy']:.4f}" in smoke_run.output
    markdown = (smoke_run.results / "summary.md").read_text()
    assert f"Test accuracy **{summary['test_accuracy']:.2%}**" in markdown and summary["selected_trial"] in markdown
    for stage, overview in summary["stages"].items():
        assert f"| {stage} | 1 | {overview['n_trials']} | {overview['n_failed']} |" in markdown
    assert f"{len(summary['seed_study']['seeds'])} seeds, test error" in markdown
    assert markdown.rstrip().endswith("none") == (table.status == "FINISHED").all()  # the failures section


def test_the_seed_study_retrains_the_selected_configuration_and_scores_its_ensemble(smoke_run):
    summary = json.loads((smoke_run.results / "summary.json").read_text())
    study = summary["seed_study"]
    assert [member["member"] for member in study["seeds"]] == ["seed0", "seed1", "seed2"]
    assert len({member["seed"] for member in study["seeds"]}) == 3
    errors = [member["test_error"] for member in study["seeds"]]
    assert study["test_error_mean"] == pytest.approx(statistics.fmean(errors))
    assert study["test_error_std"] == pytest.approx(statistics.stdev(errors))
    test = np.load(smoke_run.results / "data" / "test.npz")
    x, y = torch.from_numpy(test["x"]), torch.from_numpy(test["y"])
    networks = [load_network(str(smoke_run.results / "seed_study" / f"seed{i}.pt"))[0] for i in range(3)]
    with torch.no_grad():
        probabilities = sum(torch.softmax(network(x), dim=1) for network in networks) / 3
        assert not any(torch.equal(network(x), networks[0](x)) for network in networks[1:])  # other seeds
    assert study["ensemble_test_error"] == pytest.approx((probabilities.argmax(1) != y).double().mean().item())
    table = pd.read_csv(smoke_run.results / "trials.csv").set_index("trial_id")
    chosen = table.loc[summary["selected_trial"], "best_epoch"]
    assert all(
        member["refit"] and member["epochs"] == chosen and member["valid_error"] is None for member in study["seeds"]
    )
    # The final model, chosen on every labelled row, each judged by the twin cross-fitted without its
    # fold (trained as the refits are, on the other folds) and by the baseline fitted without it.
    choice = summary["choice"]
    labelled = [np.load(smoke_run.results / "data" / f"{split}.npz") for split in ("train", "valid")]
    x_labelled, y_labelled = (np.concatenate([split[key] for split in labelled]) for key in ("x", "y"))
    assert choice["rows"] == len(y_labelled) and choice["folds"] == 3
    twins = [json.loads((smoke_run.results / "seed_study" / "twins" / f"seed{i}.json").read_text()) for i in range(3)]
    assert [twin["fold"]["index"] for twin in twins] == [0, 1, 2]
    assert all(twin["best_epoch"] == chosen for twin in twins)  # trained as the refits are
    parts = folds(y_labelled, 3, twins[0]["fold"]["seed"])
    wrong = {"linear": cross_fitted_wrong(x_labelled, y_labelled, parts, summary["baseline"]["C"])}
    wrong["ensemble"] = np.zeros(len(y_labelled), dtype=bool)
    for twin, (_, held) in zip(twins, parts, strict=True):
        with torch.no_grad():
            predicted = load_network(str(smoke_run.workdir / twin["weights"]))[0](torch.from_numpy(x_labelled[held]))
        wrong["ensemble"][held] = predicted.argmax(1).numpy() != y_labelled[held]
        assert twin["valid_error"] == pytest.approx(wrong["ensemble"][held].mean())  # its own fold's error
    assert choice == choose(wrong, one_se_rule=True) | {"folds": 3}
    # model.pt is the chosen candidate: the members' ensemble (one checkpoint, the averaged probabilities)
    # or the logistic baseline refit on every labelled row (a network with no hidden layer)
    final = {
        "ensemble": lambda: probabilities,
        "linear": lambda: torch.softmax(network_from(as_network(
            logistic_regression(summary["baseline"]["C"]).fit(x_labelled, y_labelled), x.shape[1], 10
        ))(x), 1),
    }  # fmt: skip
    assert summary["reported"] == choice["chosen"]
    with torch.no_grad():
        assert torch.allclose(torch.softmax(load_network(str(smoke_run.results / "model.pt"))[0](x), 1),
                              final[summary["reported"]](), atol=1e-4)  # fmt: skip
    assert set(summary["candidates"]) == {"single", "member", "ensemble", "linear"}
    assert summary["candidates"]["ensemble"]["test_error"] == pytest.approx(study["ensemble_test_error"])
    assert summary["test_error"] == summary["candidates"][summary["reported"]]["test_error"]
    selected = json.loads((smoke_run.results / "finetune" / "selected.json").read_text())["best"]
    single = load_network(str(smoke_run.workdir / selected["weights"]))[0]
    assert summary["candidates"]["single"]["test_error"] == pytest.approx(
        (single(x).argmax(1) != y).double().mean().item()
    )
    baseline = summary["baseline"]
    assert baseline["model"] == "logistic_regression" and 0 < baseline["test_accuracy"] <= 1
    assert baseline["test_accuracy"] == summary["candidates"]["linear"]["test_accuracy"]
    assert f"{baseline['test_accuracy']:.2%}" in (smoke_run.results / "summary.md").read_text()
    evaluation = MlflowClient(smoke_run.tracking_uri).get_run(summary["mlflow"]["evaluation_run_id"])
    assert evaluation.data.metrics["seed_study_ensemble_test_error"] == pytest.approx(study["ensemble_test_error"])
    artifacts = {a.path for a in MlflowClient(smoke_run.tracking_uri).list_artifacts(evaluation.info.run_id)}
    assert "seed_study.png" in artifacts and (smoke_run.results / "seed_study.png").stat().st_size > 1000


def test_the_evaluation_run_holds_the_final_model_on_raw_rows_registered_as_champion(smoke_run):
    import mlflow
    import mlflow.pyfunc

    summary = json.loads((smoke_run.results / "summary.json").read_text())
    uri = f"runs:/{summary['mlflow']['evaluation_run_id']}/model"
    mlflow.set_tracking_uri(smoke_run.tracking_uri)
    logged = mlflow.pyfunc.load_model(uri)
    raw = np.load(smoke_run.results / "data" / "raw" / "test.npz")  # before preprocessing, as a user has it
    rows = pd.DataFrame(raw["x"].astype(np.float64), columns=[f"x{i}" for i in range(raw["x"].shape[1])])
    assert [spec.name for spec in logged.metadata.get_input_schema().inputs] == list(rows.columns)
    labels = np.asarray(logged.predict(rows))
    assert (labels == raw["y"]).mean() == pytest.approx(summary["test_accuracy"], abs=1e-6)  # mnist1d: labels 0..9
    requirements = Path(mlflow.artifacts.download_artifacts(f"{uri}/requirements.txt")).read_text().split()
    assert f"torch=={torch.__version__.split('+')[0]}" in requirements  # what loading the model needs
    version = mlflow.MlflowClient(smoke_run.tracking_uri).get_model_version_by_alias("smoke", "champion")
    assert version.tags["test_accuracy"] == str(round(summary["test_accuracy"], 6))  # no float32 noise
    assert len(version.tags["valid_error"]) <= 8 and version.tags["reported"] == summary["reported"]


def test_the_given_config_is_not_merged_with_the_default_one(smoke_run):
    # smoke.yaml leaves init_scale to the code's default (1.0); config/config.yaml searches it.
    table = pd.read_csv(smoke_run.results / "trials.csv")
    assert (table[table.stage.str.startswith("layer")].init_scale == 1.0).all()


def test_local_jobs_fork_from_the_fork_server_which_ends_with_the_run(smoke_run):
    """Jobs that start before the server has imported what they use (the data, the tracking set-up, maybe
    the preprocessing) run cold; test_slurm compares this run's numbers with a run whose jobs all start cold."""
    log = (smoke_run.results / "logs" / "fork_server.log").read_text().splitlines()
    served = Counter(line.split("layerwise step ")[-1] for line in log if " ended (0) after " in line)
    later = [folder for folder in smoke_run.results.glob("*/shards") if folder.parent.name != "preprocess"]
    assert served["shard"] >= sum(len(list(folder.glob("r*-*.json"))) for folder in later)
    assert served["select"] >= len(later)
    assert served["retrain"] == len(list((smoke_run.results / "seed_study").glob("**/*.json")))  # twins too
    assert served["evaluate"] == served["package-model"] == served["report"] == 1
    socket = Path(log[0].split("serving on ")[1])
    assert log[-1].endswith("stopped listening, 0 jobs running") and not socket.parent.exists()


def test_a_finished_run_has_nothing_left_to_do(smoke_run):
    process = snakemake(smoke_run.workdir, smoke_run.config, "-n")
    assert process.returncode == 0 and "Nothing to be done" in process.stdout + process.stderr


def test_tracking_can_be_switched_off(tmp_path):
    config = smoke_config(
        experiment="untracked",
        tracking={"enabled": False},
        **LEAN,
        pretrain={"layers": 1, "top_k": 1, "trials_per_parent": 2},
        finetune={"trials_per_parent": 1},
    )
    process = snakemake(tmp_path, config)
    assert process.returncode == 0, (process.stdout + process.stderr)[-3000:]
    summary = json.loads((tmp_path / "results" / "untracked" / "summary.json").read_text())
    assert summary["mlflow"]["pipeline_run_id"] is None and summary["mlflow"]["evaluation_run_id"] is None
    # 1 preprocessing candidate, 2 layer trials, 1 fine-tuning trial on the kept stack and 1 without
    assert len(pd.read_csv(tmp_path / "results" / "untracked" / "trials.csv")) == 1 + 2 + 2
    assert not (tmp_path / "results" / "mlflow.db").exists()


def test_a_target_short_of_the_summary_runs_and_succeeds(tmp_path):
    config = smoke_config(experiment="partial")
    process = snakemake(tmp_path, config, "results/partial/preprocess/selected.json")
    assert process.returncode == 0, process.stderr[-3000:]
    assert (tmp_path / "results" / "partial" / "preprocess" / "selected.json").exists()
    assert not (tmp_path / "results" / "partial" / "summary.json").exists()
