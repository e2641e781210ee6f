"""The workflow's steps, one per rule: `layerwise step <step> ...` runs one. Each step reads its inputs
from the files its rule names and writes its outputs where the rule says. Its signature is its
declaration (command/declaration.py): the command line and the rule's arguments both come from it.
"""

import json
from pathlib import Path
from typing import Annotated, Literal

from layerwise import stagespec
from layerwise.config.specs import REPORTS, SPLITS
from layerwise.data.sets import BUILTIN
from layerwise.learn.devices import DEVICES

Splits = tuple[str, str, str]  # a path per split, in SPLITS' order
Device = Annotated[Literal[DEVICES], "where trials train"]
Threads = Annotated[int, "torch threads"]
PipelineTracking = Annotated[str, "the pipeline's tracking file"]
StageSpecFile = Annotated[str, "the stage spec (a JSON file)"]


def prepare_data(
    *,
    source: Annotated[Literal[(*BUILTIN, "file")], "a built-in data set, or file"],
    seed: Annotated[int, "the global seed (the splits derive from it)"],
    valid_fraction: Annotated[float, "of the training part, for validation"],
    test_fraction: Annotated[float, "held out where there is no test file"],
    path: Annotated[str | None, "the data file (source file): .csv, .parquet or .npz"] = None,
    test_path: Annotated[str | None, "the test file of a pre-split pair"] = None,
    label_column: Annotated[str, "the label's column (or NPZ array)"] = "label",
    generator_seed: Annotated[int | None, "MNIST-1D's generator seed (default: the package's)"] = None,
    allow_missing: Annotated[bool, "accept NaN (the preprocessing imputes)"] = False,
    unlabelled_path: Annotated[str | None, "a file of rows without labels"] = None,
    splits: Annotated[Splits, f"where to write the three splits ({', '.join(SPLITS)})"],
    unlabelled: Annotated[str, "where to write the rows without a label (NPZ)"],
    schema: Annotated[str, "where to write the feature columns, class labels and row counts (JSON)"],
    files_read: Annotated[str, "where to write each data file read, with its sha256"],
) -> None:
    """load a data set and split it"""
    from layerwise.data.sets import load_and_split, save_split
    from layerwise.files import write_json
    from layerwise.track.provenance import files_read as recording

    with recording([path, test_path, unlabelled_path], files_read):
        split = load_and_split(
            source, seed, valid_fraction, test_fraction, path, test_path, label_column, allow_missing,
            generator_seed, unlabelled_path,
        )  # fmt: skip
    for name, out in zip((*SPLITS, "unlabelled"), (*splits, unlabelled), strict=True):
        save_split(split[name], out)
    rows = {name: len(split[name].y) for name in (*SPLITS, "unlabelled")}
    write_json(schema, {"columns": split["columns"], "classes": split["classes"].tolist(), "rows": rows})
    print(f"{source}: {rows} rows, {split['train'].x.shape[1]} features, {len(split['classes'])} classes")


def preprocess(
    *,
    selected: Annotated[str, "the preprocessing stage's selection (JSON)"],
    splits: Annotated[Splits, "the raw splits"],
    out: Annotated[Splits, "where to write them preprocessed"],
    unlabelled: Annotated[tuple[str, str], "the rows without a label: the raw file, and where to write them"],
    preprocessor: Annotated[str, "where to copy the fitted preprocessing (joblib)"],
) -> None:
    """apply the selected preprocessing to all splits"""
    import shutil

    import joblib

    from layerwise.data.sets import Split, read_split, save_split
    from layerwise.data.transforms import transform
    from layerwise.selections import read_selection

    best = read_selection(selected).best.record
    results = Path(selected).resolve().parents[1]  # results/<experiment>
    if not Path(best.weights).resolve().is_relative_to(results):  # loading a joblib file runs its code
        raise SystemExit(f"{best.weights}: not loaded, it lies outside the experiment's results {results}")
    pipeline = joblib.load(best.weights)  # fitted on the training split by its trial
    for path, written in zip((*splits, unlabelled[0]), (*out, unlabelled[1]), strict=True):
        split = read_split(path)
        save_split(Split(transform(pipeline, split.x), split.y), written)
    shutil.copyfile(best.weights, preprocessor)
    print(f"preprocessing from {best.trial_id} ({best.params}): {pipeline}")


def init_tracking(
    *,
    uri: Annotated[str, "the MLflow tracking URI"],
    experiment: Annotated[str, "the MLflow experiment's name"],
    artifact_root: Annotated[str, "where the experiment's artifacts go"],
    enabled: Annotated[bool, "false: no store, only files"] = True,
    out: Annotated[str, "where to write the tracking file (JSON)"],
) -> None:
    """create the MLflow experiment, pipeline and stage runs"""
    from layerwise.files import write_json
    from layerwise.track.runlog import open_pipeline

    info = open_pipeline(uri, experiment, artifact_root, enabled)
    write_json(out, info)
    print(json.dumps(info, indent=2))


def init_stage(
    *,
    pipeline: PipelineTracking,
    spec: Annotated[str, "the stage spec, as JSON; logged as the run's params"],
    spec_file: Annotated[str, "where to write the spec, which the stage's jobs read"],
    tracking: Annotated[str, "where to write the stage's tracking file (JSON)"],
) -> None:
    """open a stage's MLflow run under the pipeline run"""
    from layerwise.files import write_json
    from layerwise.track.runlog import open_stage

    stage = stagespec.from_dict(json.loads(spec))
    info = open_stage(pipeline, stage.stage, stage.params())
    Path(spec_file).write_text(stage.to_json())
    write_json(tracking, info)
    print(json.dumps(info, indent=2))


def one(paths: list[str]) -> str | None:
    """The previous stage's selection: none for the first stage, one for every later stage."""
    return paths[0] if paths else None


def shard(
    *,
    spec: StageSpecFile,
    round_: Annotated[int, "the stage's round"],
    shard: Annotated[int, "this shard's number in the round"],
    train: Annotated[str, "the preprocessed training split (NPZ)"],
    valid: Annotated[str, "the preprocessed validation split (NPZ)"],
    unlabelled: Annotated[str | None, "the rows without a label (NPZ), for the stages that need none"] = None,
    parents: Annotated[list[str], "top-K file of the previous stage"] = (),
    history: Annotated[list[str], "shard records of the stage's earlier rounds"] = (),
    tracking: Annotated[str, "the stage's tracking file"],
    records: Annotated[str, "where to write the shard's trial records (JSON)"],
    weights: Annotated[str, "folder for the trials' weights"],
    threads: Threads = 1,
    checkpoints: Annotated[str | None, "folder for the training state of long trials (kept across attempts)"] = None,
    device: Device = "cpu",
) -> None:
    """run one shard of a stage's trials"""
    from layerwise.steps.shard import run_shard

    run_shard(
        stagespec.read(spec), round_=round_, shard=shard, train=train, valid=valid, parents=one(parents),
        history=history, tracking=tracking, records=records, weights_dir=weights, threads=threads,
        checkpoints=checkpoints, device=device, unlabelled=unlabelled,
    )  # fmt: skip


def select(
    *,
    spec: StageSpecFile,
    records: Annotated[list[str], "the shard records of every round"],
    parents: Annotated[list[str], "top-K file of the previous stage"] = (),
    tracking: Annotated[str, "the stage's tracking file"],
    selection: Annotated[str, "where to write the selection (JSON)"],
    stacks: Annotated[str | None, "folder for the top-K stacks (pretraining stages)"] = None,
    figures: Annotated[str, "folder for the stage's figures (PNG)"],
    table: Annotated[str, "where to write the stage's top trials (CSV)"],
) -> None:
    """rank a stage's trials and keep the top K"""
    from layerwise.steps.selection import select_stage

    select_stage(
        stagespec.read(spec), record_paths=records, parents_path=one(parents), tracking=tracking,
        out_json=selection, out_dir=stacks, figures_dir=figures, table_path=table,
    )  # fmt: skip


def retrain(
    *,
    selected: Annotated[str, "the fine-tuning selection (JSON)"],
    train: Annotated[str, "the preprocessed training split (NPZ)"],
    valid: Annotated[str, "the preprocessed validation split (NPZ)"],
    parents: Annotated[list[str], "top-K file of the last pretrained layer, if any"] = (),
    spec: Annotated[str, "the fine-tuning stage spec (a JSON file)"],
    member: Annotated[str, "seed<i>"],
    refit: Annotated[bool, "true: train on train + valid for the epochs early stopping chose"] = False,
    folds: Annotated[int, "a cross-fitted twin: the labelled rows cut into this many folds (0: none)"] = 0,
    fold: Annotated[int, "the fold the twin leaves out, from 0"] = 0,
    weights: Annotated[str, "where to save the member's network"],
    record: Annotated[str, "where to write the member's record (JSON)"],
    threads: Threads = 1,
    device: Device = "cpu",
) -> None:
    """train the selected configuration again (seed study, refit)"""
    from layerwise.steps.seedstudy import retrain as run

    run(
        selected_path=selected, train=train, valid=valid, parents=one(parents), spec=stagespec.read(spec),
        member=member, refit=refit, fold=(fold, folds) if folds else None, weights=weights, out=record,
        threads=threads, device=device,
    )  # fmt: skip


def evaluate(
    *,
    selected: Annotated[str, "the fine-tuning selection (JSON)"],
    preprocessing: Annotated[str, "the preprocessing stage's selection (JSON)"],
    selections: Annotated[list[str], "every stage's selection, in stage order"],
    members: Annotated[list[str], "the seed study's member records"],
    twins: Annotated[
        list[str], "the members' twins: cross-fitted, trained on the training rows only, or the members themselves"
    ],
    histogram: Annotated[str, "where to draw the seed study's histogram (PNG)"],
    beam: Annotated[str, "where to draw the beam of top-K stacks (PNG)"],
    train: Annotated[str, "the preprocessed training split (fits the baseline)"],
    valid: Annotated[str, "the preprocessed validation split (chooses the baseline's C)"],
    test: Annotated[str, "the preprocessed test split: only this step reads it"],
    schema: Annotated[str, "the raw data's schema (JSON), with its row counts"],
    report: Annotated[Literal[REPORTS], "the final model (auto: chosen on evidence)"],
    one_se_rule: Annotated[
        bool, "of the candidates within one paired standard error of the best on validation, take the simplest"
    ],
    tracking: PipelineTracking,
    experiment: Annotated[str, "the experiment's name"],
    summary: Annotated[str, "where to write summary.json"],
    model: Annotated[str, "where to save the final model (model.pt)"],
) -> None:
    """test the selected network and write the summary"""
    from layerwise.steps.evaluate import evaluate as run

    written = run(
        selected_path=selected, preprocessing_path=preprocessing, selection_paths=selections, member_paths=members,
        twin_paths=twins, histogram_path=histogram, beam_path=beam, splits=(train, valid, test),
        schema_path=schema, report=report, one_se_rule=one_se_rule, tracking=tracking, experiment=experiment,
        summary_path=summary, model_path=model,
    )  # fmt: skip
    print(f"test accuracy {written['test_accuracy']:.4f}")


def package_model(
    *,
    network: Annotated[str, "the reported network's checkpoint (model.pt)"],
    preprocessor: Annotated[str, "the fitted preprocessing (joblib)"],
    schema: Annotated[str, "the raw data's feature columns and class labels (JSON)"],
    example: Annotated[str, "the raw test split, whose first rows are the input example"],
    summary: Annotated[str, "summary.json, whose figures tag the registered version"],
    tracking: PipelineTracking,
    experiment: Annotated[str, "the name the model is registered under"],
    register: Annotated[bool, "register the model in MLflow"],
    model: Annotated[str, "the model folder to write"],
) -> None:
    """write the final model as an MLflow model, log and register it"""
    from layerwise.model.pyfunc_model import package

    registered = package(
        network=network, preprocessor=preprocessor, schema=schema, raw_test=example, summary_path=summary,
        tracking=tracking, register_as=experiment if register else None, folder=model,
    )  # fmt: skip
    print(f"model: {model}" + (f"; registered as {registered}" if registered else ""))


def report(
    *,
    records: Annotated[list[str], "every stage's shard records"],
    summary: Annotated[str, "summary.json"],
    tracking: PipelineTracking,
    config: Annotated[str, "the resolved config, as JSON, logged on the pipeline run"],
    csv: Annotated[str, "where to write trials.csv"],
    parquet: Annotated[str, "where to write trials.parquet"],
    markdown: Annotated[str, "where to write summary.md"],
    provenance: Annotated[str, "where to write what reproduces the run (JSON)"],
    files_read: Annotated[str, "the user's data files prepare-data read, with digests"],
    raw_splits: Annotated[Splits, "logged as the run's datasets"],
) -> None:
    """write the trials table and close the pipeline run"""
    from layerwise.files import read_json
    from layerwise.steps.report import write_report

    outputs = {"csv": csv, "parquet": parquet, "markdown": markdown, "provenance": provenance}
    write_report(
        record_paths=records, summary_path=summary, tracking=tracking, config=json.loads(config),
        data_files=read_json(files_read), raw_splits=raw_splits, outputs=outputs,
    )  # fmt: skip


STEPS = (prepare_data, preprocess, init_tracking, init_stage, shard, select, retrain, evaluate, package_model, report)
