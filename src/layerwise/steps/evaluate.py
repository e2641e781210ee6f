"""Evaluation: the only code that opens the test split. Scores the candidates for the final model
(the selected network, a seed-study member, their ensemble, and the logistic baseline as a network
with no hidden layer), writes the reported model and the summary.
"""

import statistics
from dataclasses import asdict

import numpy as np
import torch

from layerwise.files import read_json, write_json
from layerwise.learn.models import Ensemble
from layerwise.learn.training import classification_error
from layerwise.model.network import load_network, network_from, save_ensemble
from layerwise.present import training_plots
from layerwise.selections import Chosen, read_selection
from layerwise.stages.baseline import cross_fitted_wrong, logistic_baseline
from layerwise.stages.choice import choose, folds
from layerwise.stages.inputs import Tensors, load_tensors
from layerwise.track.runlog import EvaluationRun


def errs(model, split) -> np.ndarray:
    """Whether `model` gets each row of `split` wrong."""
    model.eval()
    with torch.no_grad():
        return (model(split.x).argmax(1) != split.y).numpy()


def tested(model, test) -> dict:
    error, loss = classification_error(model, test.x, test.y)
    return {"test_accuracy": 1.0 - error, "test_error": error, "test_loss": loss}


def cross_fitted(judged: str, twins: list[dict], labelled: Tensors, c: float) -> dict[str, np.ndarray]:
    """Whether the baseline and the `judged` candidate err on each labelled row, each row judged by the
    twin (and the baseline fit) that left its fold out (stages/choice.py)."""
    folding = twins[0]["fold"]
    x, y = labelled.x.numpy(), labelled.y.numpy()
    parts = folds(y, folding["count"], folding["seed"])
    network_wrong = np.empty(len(y), dtype=bool)
    for twin in twins:
        held = parts[twin["fold"]["index"]][1]
        network_wrong[held] = errs(load_network(twin["weights"])[0], labelled.take(held))
    return {"linear": cross_fitted_wrong(x, y, parts, c), judged: network_wrong}


def scores(chosen: Chosen | None, trials: int, test) -> dict | None:
    """Validation and test error of the best network of one side (with or without pretraining), with the
    layers it grew from and how many finished trials the side had."""
    if chosen is None:
        return None
    test_error, _ = classification_error(load_network(chosen.record.weights)[0], test.x, test.y)
    return {
        "trial_id": chosen.record.trial_id,
        "valid_error": chosen.record.objective,
        "test_error": test_error,
        "layers": [step.trial_id for step in chosen.pretrained_layers],
        "trials": trials,
    }


def seed_study(members: list[dict], networks: list, ensemble: dict, test, histogram_path: str) -> dict:
    """Test error of every member (`networks`, in the order of their records), their mean and spread,
    and that of their ensemble (averaged class probabilities, `tested` already)."""
    errors = [classification_error(network, test.x, test.y)[0] for network in networks]
    ensemble_error = ensemble["test_error"]
    training_plots.seed_histogram(errors, ensemble_error, histogram_path)
    return {
        "seeds": [
            {
                "member": m["member"],
                "seed": m["seed"],
                "refit": m["refit"],
                "epochs": m["best_epoch"],
                "valid_error": m["valid_error"],
                "test_error": error,
            }
            for m, error in zip(members, errors, strict=True)
        ],
        "test_error_mean": statistics.fmean(errors),
        "test_error_std": statistics.stdev(errors) if len(errors) > 1 else 0.0,
        "ensemble_test_error": ensemble_error,
        "histogram": histogram_path,
    }


def write_reported(report: str, selected_weights: str, members: list[dict], linear: dict, path: str) -> None:
    """The reported model's checkpoint: the selected network's, the first member's, the ensemble's, or
    the linear model's (`linear`, a checkpoint already)."""
    if report == "ensemble":
        save_ensemble([member["weights"] for member in members], path)
    elif report == "linear":
        torch.save(linear, path)
    else:
        source = selected_weights if report == "single" else members[0]["weights"]
        torch.save(torch.load(source, weights_only=True), path)


def beam_columns(selection_paths: list[str]) -> list[tuple[str, list[dict]]]:
    """The layers' top K and the best fine-tuning trial per parent stack, in stage order."""
    columns = []
    for selection in map(read_selection, selection_paths):
        if selection.entries:
            nodes = [
                {"trial_id": entry.trial_id, "objective": entry.objective, "parent_trial": entry.parent_trial}
                for entry in selection.entries
            ]
            columns.append((selection.stage, nodes))
        elif selection.best_per_parent:
            columns.append((selection.stage, list(selection.best_per_parent)))
    return columns


def stage_overview(selection_paths: list[str]) -> dict:
    """Per stage: rounds, trials, failures, the best trial, the best values found on the border of
    their interval, and what halving cut (None without)."""
    keys = ("rounds", "n_trials", "n_failed", "best_trial", "best_objective", "border", "halving")
    return {
        selection.stage: {key: getattr(selection, key) for key in keys} | {"border": list(selection.border)}
        for selection in map(read_selection, selection_paths)
    }


def evaluate(
    selected_path: str,
    preprocessing_path: str,
    selection_paths: list[str],
    member_paths: list[str],
    twin_paths: list[str],
    histogram_path: str,
    beam_path: str,
    splits: tuple[str, str, str],
    schema_path: str,
    report: str,
    one_se_rule: bool,
    tracking: str,
    experiment: str,
    summary_path: str,
    model_path: str,
) -> dict:
    """`splits`: the preprocessed train, valid and test files (train and valid fit the baseline);
    `schema_path`: the raw data's schema, whose row counts the summary repeats; `member_paths`: the seed
    study's members (the final model's networks), `twin_paths` the records of their twins, which judge
    them on rows they never trained on (cross-fitted, or the validation rows; stages/choice.py);
    `report`: the final model (config.specs.REPORTS), written to `model_path`: `auto` the ensemble or the
    logistic baseline, as stages/choice.py chooses, another that network unless `one_se_rule` finds the
    baseline as good."""
    selected = read_selection(selected_path)
    preprocessing = asdict(read_selection(preprocessing_path).best.lineage[-1])
    train, valid, test = (load_tensors(path) for path in splits)
    members = [read_json(path) for path in member_paths]
    best = selected.best
    single, architecture = load_network(best.record.weights)  # the members share its architecture
    baseline, linear, linear_wrong = logistic_baseline(
        *((split.x.numpy(), split.y.numpy()) for split in (train, valid)), architecture["n_classes"]
    )
    # auto weighs the ensemble against the baseline: one network against the ensemble is no choice of
    # capacity, and on a small validation split a row's noise picked the single network at a cost on test.
    judged = "ensemble" if report in ("auto", "ensemble") else "member"
    twins = [read_json(path) for path in twin_paths]
    folding = twins[0]["fold"]  # the same for every twin: None, or the folds they were cross-fitted on
    if folding:
        wrong = cross_fitted(judged, twins, Tensors.joined(train, valid), baseline["C"])
    else:
        networks = [load_network(twin["weights"])[0] for twin in twins]
        twin = networks[0] if judged == "member" else Ensemble(networks)
        wrong = {"linear": linear_wrong, judged: errs(twin, valid)}
    choice = choose(wrong, one_se_rule) | {"folds": folding["count"] if folding else 0}
    report = choice["chosen"] if report == "auto" or choice["chosen"] == "linear" else report
    write_reported(report, best.record.weights, members, linear, model_path)
    networks = [load_network(member["weights"])[0] for member in members]
    models = {"single": single, "member": networks[0], "ensemble": Ensemble(networks), "linear": network_from(linear)}
    candidates = {name: tested(candidate, test) for name, candidate in models.items()}
    result = candidates[report]
    baseline |= {key: candidates["linear"][key] for key in ("test_accuracy", "test_error")}
    evaluation = EvaluationRun.open(tracking)
    comparison = {
        "pretrained": scores(selected.best_pretrained, selected.trials_pretrained, test),
        "no_pretraining": scores(selected.best_no_pretraining, selected.trials_no_pretraining, test),
    }
    summary = {
        "experiment": experiment,
        **result,
        "rows": read_json(schema_path)["rows"],
        "reported": report,
        "candidates": candidates,
        "baseline": baseline,
        "choice": choice,
        "valid_error": best.record.objective,
        "selected_trial": best.record.trial_id,
        "selected": {
            "preprocessing": preprocessing,
            "pretrained": best.record.parent_rank is not None,
            "architecture": architecture,
            "layers": [asdict(step) for step in best.pretrained_layers],
            "finetune": asdict(best.lineage[-1]),
        },
        "pretraining_comparison": comparison,
        "stages": stage_overview(selection_paths),
        "seed_study": seed_study(members, networks, candidates["ensemble"], test, histogram_path),
        "model": model_path,
        "mlflow": evaluation.ids(),
    }
    write_json(summary_path, summary)
    training_plots.beam(beam_columns(selection_paths), [step.trial_id for step in best.lineage], beam_path)
    metrics = {
        "test_accuracy": summary["test_accuracy"],
        "test_error": summary["test_error"],
        "valid_error": best.record.objective,
        "baseline_test_error": baseline["test_error"],
        **{f"{name}_test_error": candidate["test_error"] for name, candidate in candidates.items()},
        **{f"{name}_twin_error": error for name, error in choice["errors"].items()},
    }
    for arm, scored in comparison.items():
        if scored:
            metrics.update({f"{arm}_test_error": scored["test_error"], f"{arm}_valid_error": scored["valid_error"]})
    study = summary["seed_study"]
    summarised = ("test_error_mean", "test_error_std", "ensemble_test_error")
    metrics |= {f"seed_study_{key}": study[key] for key in summarised}
    evaluation.close(
        params={"selected_trial": best.record.trial_id, "seed_study_seeds": len(study["seeds"]), "reported": report},
        metrics=metrics,
        artifacts=[summary_path, model_path, histogram_path, beam_path],
    )
    return summary
