"""Evaluation: the only code that opens the test split. Scores the selected network and writes the summary."""

import shutil
import statistics

import torch

from layerwise import plots
from layerwise.files import read_json, write_json
from layerwise.inputs import load_tensors
from layerwise.models import build_classifier
from layerwise.seedstudy import REFIT
from layerwise.selection import lineage_step
from layerwise.tracking import Tracker
from layerwise.training import classification_error


def load_network(weights_path: str) -> tuple[torch.nn.Sequential, dict]:
    """A fine-tuned network rebuilt from its own checkpoint, and its architecture."""
    checkpoint = torch.load(weights_path, weights_only=True)
    model = build_classifier(checkpoint["architecture"])
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval(), checkpoint["architecture"]


def pretrained_layers(record: dict) -> list[dict]:
    return [step for step in record["lineage"] if step["stage"] != record["stage"]]


def scores(record: dict | None, test) -> dict | None:
    """Validation and test error of the best network of one arm, with the layers it grew from."""
    if record is None:
        return None
    test_error, _ = classification_error(load_network(record["weights"])[0], test.x, test.y)
    return {
        "trial_id": record["trial_id"],
        "valid_error": record["objective"],
        "test_error": test_error,
        "layers": [step["trial_id"] for step in pretrained_layers(record)],
    }


def seed_study(member_paths: list[str], test, histogram_path: str) -> dict:
    """Test error of every member, their mean and spread, the ensemble (averaged class probabilities)
    of the seed members, and the refit's test error when there is one."""
    members = [read_json(path) for path in member_paths]
    seeds = [member for member in members if member["member"] != REFIT]
    networks = [load_network(member["weights"])[0] for member in seeds]
    errors = [classification_error(network, test.x, test.y)[0] for network in networks]
    with torch.no_grad():
        probabilities = torch.stack([torch.softmax(network(test.x), dim=1) for network in networks]).mean(0)
    ensemble_error = (probabilities.argmax(1) != test.y).double().mean().item()
    plots.seed_histogram(errors, ensemble_error, histogram_path)
    study = {
        "seeds": [
            {"member": m["member"], "seed": m["seed"], "valid_error": m["valid_error"], "test_error": error}
            for m, error in zip(seeds, errors, strict=True)
        ],
        "test_error_mean": statistics.fmean(errors),
        "test_error_std": statistics.stdev(errors) if len(errors) > 1 else 0.0,
        "ensemble_test_error": ensemble_error,
        "histogram": histogram_path,
    }
    refit = [member for member in members if member["member"] == REFIT]
    if refit:
        test_error = classification_error(load_network(refit[0]["weights"])[0], test.x, test.y)[0]
        study["refit"] = {"epochs": refit[0]["best_epoch"], "test_error": test_error}
    return study


def beam_columns(selection_paths: list[str]) -> list[tuple[str, list[dict]]]:
    """The layers' top K and the best fine-tuning trial per parent stack, in stage order."""
    columns = []
    for path in selection_paths:
        selection = read_json(path)
        if "entries" in selection:
            columns.append((selection["stage"], selection["entries"]))
        elif "best_per_parent" in selection:
            columns.append((selection["stage"], selection["best_per_parent"]))
    return columns


def stage_overview(selection_paths: list[str]) -> dict:
    """Per stage: rounds, trials, failures, the best trial and the best values found on the border of
    their interval."""
    overview = {}
    for path in selection_paths:
        selection = read_json(path)
        keys = ("rounds", "n_trials", "n_failed", "best_trial", "best_objective", "border")
        overview[selection["stage"]] = {key: selection[key] for key in keys}
    return overview


def evaluate(
    selected_path: str,
    preprocessing_path: str,
    selection_paths: list[str],
    member_paths: list[str],
    histogram_path: str,
    beam_path: str,
    test_path: str,
    tracking: str,
    experiment: str,
    summary_path: str,
    model_path: str,
) -> dict:
    selected = read_json(selected_path)
    preprocessing = lineage_step(read_json(preprocessing_path)["best"])
    test = load_tensors(test_path)
    best = selected["best"]
    model, architecture = load_network(best["weights"])
    test_error, test_loss = classification_error(model, test.x, test.y)
    shutil.copyfile(best["weights"], model_path)
    tracker = Tracker.from_file(tracking)
    evaluation = Tracker(tracker.open_child("evaluation", "evaluation"))
    comparison = {
        "pretrained": scores(selected["best_pretrained"], test),
        "no_pretraining": scores(selected["best_no_pretraining"], test),
    }
    summary = {
        "experiment": experiment,
        "test_accuracy": 1.0 - test_error,
        "test_error": test_error,
        "test_loss": test_loss,
        "valid_error": best["objective"],
        "selected_trial": best["trial_id"],
        "selected": {
            "preprocessing": preprocessing,
            "pretrained": best["parent_rank"] is not None,
            "architecture": architecture,
            "layers": pretrained_layers(best),
            "finetune": best["lineage"][-1],
        },
        "pretraining_comparison": comparison,
        "stages": stage_overview(selection_paths),
        "seed_study": seed_study(member_paths, test, histogram_path),
        "model": model_path,
        "mlflow": {
            "tracking_uri": tracker.info.get("tracking_uri"),
            "experiment_id": tracker.info.get("experiment_id"),
            "pipeline_run_id": tracker.pipeline_run_id,
            "evaluation_run_id": evaluation.run_id,
        },
    }
    write_json(summary_path, summary)
    plots.beam(beam_columns(selection_paths), [step["trial_id"] for step in best["lineage"]], beam_path)
    if evaluation.enabled:
        evaluation.log_model(evaluation.run_id, model, test.x[:5].numpy())
        metrics = {
            "test_accuracy": summary["test_accuracy"],
            "test_error": test_error,
            "valid_error": best["objective"],
        }
        for arm, result in comparison.items():
            if result:
                metrics.update({f"{arm}_test_error": result["test_error"], f"{arm}_valid_error": result["valid_error"]})
        study = summary["seed_study"]
        summarised = ("test_error_mean", "test_error_std", "ensemble_test_error")
        metrics |= {f"seed_study_{key}": study[key] for key in summarised}
        if "refit" in study:
            metrics["refit_test_error"] = study["refit"]["test_error"]
        evaluation.finish_run(
            evaluation.run_id,
            params={"selected_trial": best["trial_id"], "seed_study_seeds": len(study["seeds"])},
            metrics=metrics,
            artifacts=[summary_path, model_path, histogram_path, beam_path],
        )
    return summary
