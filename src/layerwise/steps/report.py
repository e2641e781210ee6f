"""The trials table: one row per trial of every stage, as CSV and Parquet."""

from pathlib import Path

import pandas as pd

from layerwise.config.specs import SPLITS, stage_specs
from layerwise.files import read_json, write_json
from layerwise.present.summary_page import render
from layerwise.records import read_shards
from layerwise.search.border import on_border
from layerwise.search.halving import settle
from layerwise.stages.kinds import stage_space
from layerwise.track.provenance import provenance
from layerwise.track.runlog import close_pipeline

COLUMNS = (
    "stage",
    "round",
    "index",
    "trial_id",
    "arm",
    "parent_trial",
    "status",
    "reason",
    "objective",
    "duration_s",
    "pack",
    "shard",
    "seed",
    "mlflow_run_id",
)
HALVING_COLUMNS = ("rung", "budget")  # the rung a trial reached, and the epochs it had trained there


def trials_table(record_paths: list[str], spaces: dict) -> pd.DataFrame:
    """One row per trial (with halving, as the last rung it trained left it: `halving.settle`), ordered
    by stage (in the order the paths name them), round and index. `spaces` maps each
    stage to its search space, for the `on_border` column (numeric values in the outer 10%)."""
    records = read_shards(record_paths)
    stage_order = {stage: position for position, stage in enumerate(dict.fromkeys(r.stage for r in records))}
    records = settle(records)  # which sorts by stage name
    records.sort(key=lambda record: (stage_order[record.stage], record.round, record.index))
    rows = []
    for record in records:
        metrics = {key: value for key, value in record.metrics.items() if key != "objective"}
        border = on_border(spaces[record.stage], record.params)
        columns = COLUMNS + (HALVING_COLUMNS if record.halving else ())
        rows.append({**{key: getattr(record, key) for key in columns}, "on_border": border, **record.params, **metrics})
    # Nullable dtypes: an integer hyper-parameter stays an integer in rows of stages that lack it.
    return pd.DataFrame(rows).convert_dtypes()


def write_report(
    record_paths: list[str],
    summary_path: str,
    tracking: str,
    config: dict,
    data_files: list[dict],
    raw_splits: list[str],
    outputs: dict[str, str],
) -> None:
    """`data_files`: the user's files as prepare-data read them (path, size, sha256; none for a built-in
    data set); `raw_splits`: the train, valid and
    test splits before preprocessing, logged as the pipeline run's datasets; `outputs`: where to write
    the csv, parquet, markdown (summary.md) and provenance files."""
    csv_path, parquet_path, markdown_path, provenance_path = (
        outputs[key] for key in ("csv", "parquet", "markdown", "provenance")
    )
    spaces = {stage: stage_space(spec) for stage, spec in stage_specs(config).items()}
    table = trials_table(record_paths, spaces)
    table.to_csv(csv_path, index=False)
    table.to_parquet(parquet_path, index=False)
    summary = read_json(summary_path)
    Path(markdown_path).write_text(render(summary, table))
    origin = provenance(config, data_files)
    write_json(provenance_path, origin)
    git = origin["git"] or {}
    close_pipeline(
        tracking,
        config,
        dict(zip(SPLITS, raw_splits, strict=True)),
        [file["path"] for file in data_files],
        metrics={"test_accuracy": summary["test_accuracy"], "valid_error": summary["valid_error"]},
        tags={
            "layerwise.code_digest": origin["code_digest"],
            "layerwise.git_commit": f"{git['commit']}{' (modified)' if git['dirty'] else ''}" if git else "none",
            "layerwise.torch": origin["packages"]["torch"],
        },
        artifacts=[csv_path, summary_path, markdown_path, provenance_path],
    )
    print(f"test accuracy {summary['test_accuracy']:.4f} (test error {summary['test_error']:.4f})", flush=True)
