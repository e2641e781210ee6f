"""Evaluation: the only code that opens the test split. Scores the selected network and writes the summary."""

import shutil
from pathlib import Path

import torch

from layerwise.files import read_json, write_json
from layerwise.inputs import load_tensors
from layerwise.models import build_classifier
from layerwise.tracking import Tracker
from layerwise.training import classification_error


def load_network(weights_path: str) -> torch.nn.Sequential:
    """A fine-tuned network rebuilt from its own checkpoint (architecture + state_dict)."""
    checkpoint = torch.load(weights_path, weights_only=True)
    model = build_classifier(checkpoint["architecture"])
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval()


def scores(record: dict | None, test) -> dict | None:
    if record is None:
        return None
    test_error, _ = classification_error(load_network(record["weights"]), test.x, test.y)
    return {"trial_id": record["trial_id"], "valid_error": record["objective"], "test_error": test_error}


def evaluate(selected_path: str, data_dir: str, tracking: str, experiment: str, summary_path: str, model_path: str) -> dict:
    selected = read_json(selected_path)
    test = load_tensors(str(Path(data_dir) / "test.npz"))
    best = selected["best"]
    model = load_network(best["weights"])
    test_error, test_loss = classification_error(model, test.x, test.y)
    shutil.copyfile(best["weights"], model_path)
    tracker = Tracker.from_file(tracking)
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
            "layers": [step for step in best["lineage"] if step["stage"].startswith("layer")],
            "finetune": best["lineage"][-1],
        },
        "pretraining_comparison": comparison,
        "model": model_path,
        "mlflow": {
            "tracking_uri": tracker.info.get("tracking_uri"),
            "experiment_id": tracker.info.get("experiment_id"),
            "pipeline_run_id": tracker.pipeline_run_id,
            "evaluation_run_id": tracker.stage_run_id("evaluation") if tracker.enabled else None,
        },
    }
    write_json(summary_path, summary)
    run_id = tracker.stage_run_id("evaluation") if tracker.enabled else None
    if run_id:
        tracker.log_model(run_id, model, test.x[:5].numpy())
        metrics = {"test_accuracy": summary["test_accuracy"], "test_error": test_error, "valid_error": best["objective"]}
        for arm, result in comparison.items():
            if result:
                metrics.update({f"{arm}_test_error": result["test_error"], f"{arm}_valid_error": result["valid_error"]})
        tracker.finish_run(run_id, params={"selected_trial": best["trial_id"]}, metrics=metrics, artifacts=[summary_path, model_path])
    return summary
