"""Small tabular data: does the default config's final model match the logistic baseline it reports?

Each data set shipped with scikit-learn is written to a CSV (named columns, string labels, as a user's
file would be) and run through `snakemake` with config/config.yaml, only `data` changed
(`source: file`; the test split carved out by `test_fraction`). The table gives the final model's
test accuracy, the logistic baseline's (C chosen on validation, refit on train + valid, on the same
splits), which candidate the run reported (the ensemble of refits, or the baseline by the
one-standard-error rule), the search's best network and the ensemble, which arm the selected network
came from, its shape and the wall time.

    .venv/bin/python benchmarks/tabular.py [--datasets breast_cancer wine] [--tiny] [--out benchmarks/figures]
"""

import argparse
import json
import tempfile
from pathlib import Path

import pandas as pd
import yaml
from orchestration import REPO, capped, merged, timed_snakemake

DATASETS = ("breast_cancer", "wine", "digits")
# --tiny, the test suite's setting: one layer of 2 trials, one round of fine-tuning, 2 refits, 2 epochs per trial.
TINY = {
    "pretrain": {"layers": 1, "trials_per_parent": 2},
    "finetune": {"trials_per_parent": 1, "strategy": {"name": "random"}},
    "evaluate": {"seeds": 2},
}
TINY_EPOCHS = 2


def write_csv(name: str, folder: Path) -> Path:
    import sklearn.datasets

    data = getattr(sklearn.datasets, f"load_{name}")()
    frame = pd.DataFrame(data.data, columns=[str(column) for column in data.feature_names])
    frame["label"] = [str(data.target_names[target]) for target in data.target]
    path = folder / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--tiny", action="store_true", help="a few short trials (the tests')")
    parser.add_argument("--out", default="benchmarks/figures")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.datasets:
            folder = Path(scratch) / name
            folder.mkdir()
            data = {"source": "file", "path": str(write_csv(name, folder)), "label_column": "label"}
            config = merged(
                yaml.safe_load((REPO / "config" / "config.yaml").read_text()), {"experiment": name, "data": data}
            )
            config = capped(merged(config, TINY), TINY_EPOCHS) if args.tiny else config
            _, wall = timed_snakemake(folder, config, 2)
            summary = json.loads((folder / "results" / name / "summary.json").read_text())
            selected = summary["selected"]
            rows.append({
                "data set": name, "rows": len(pd.read_csv(data["path"])), "final model": summary["test_accuracy"],
                "logistic baseline": summary["baseline"]["test_accuracy"],
                "reported": summary["reported"],
                "search's best network": summary["candidates"]["single"]["test_accuracy"],
                "ensemble of refits": summary["candidates"]["ensemble"]["test_accuracy"],
                "selected arm": "pretrained" if selected["pretrained"] else "no pretraining",
                "hidden layers": [layer["n_hidden"] for layer in selected["architecture"]["layers"]],
                "wall s": round(wall),
            })  # fmt: skip
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    (out / "tabular.md").write_text(table.to_markdown(index=False, floatfmt=".3f") + "\n")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
