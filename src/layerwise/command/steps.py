"""The workflow's steps as commands: `layerwise step <step> ...`, one per rule, each reading its inputs
from the files a rule names and writing its outputs where the rule says."""

import json
from pathlib import Path

from layerwise import stagespec
from layerwise.config.specs import SPLITS


def prepare_data(args) -> None:
    from layerwise.data.sets import load_and_split, save_split
    from layerwise.files import write_json
    from layerwise.track.provenance import files_read

    with files_read([args.path, args.test_path, args.unlabelled_path], args.files_read):
        splits = load_and_split(
            args.source, args.seed, args.valid_fraction, args.test_fraction, args.path, args.test_path,
            args.label_column, args.allow_missing == "true", args.generator_seed, args.unlabelled_path,
        )  # fmt: skip
    for name, path in zip((*SPLITS, "unlabelled"), (*args.out, args.unlabelled), strict=True):
        save_split(splits[name], path)
    rows = {name: len(splits[name].y) for name in (*SPLITS, "unlabelled")}
    write_json(args.schema, {"columns": splits["columns"], "classes": splits["classes"].tolist(), "rows": rows})
    print(f"{args.source}: {rows} rows, {splits['train'].x.shape[1]} features, {len(splits['classes'])} classes")


def preprocess(args) -> None:
    import shutil

    import joblib

    from layerwise.data.sets import Split, read_split, save_split
    from layerwise.data.transforms import transform
    from layerwise.files import read_json

    best = read_json(args.selected)["best"]
    results = Path(args.selected).resolve().parents[1]  # results/<experiment>
    if not Path(best["weights"]).resolve().is_relative_to(results):  # loading a joblib file runs its code
        raise SystemExit(f"{best['weights']}: not loaded, it lies outside the experiment's results {results}")
    pipeline = joblib.load(best["weights"])  # fitted on the training split by its trial
    for path, out in zip((*args.splits, args.unlabelled[0]), (*args.out, args.unlabelled[1]), strict=True):
        split = read_split(path)
        save_split(Split(transform(pipeline, split.x), split.y), out)
    shutil.copyfile(best["weights"], args.preprocessor)
    print(f"preprocessing from {best['trial_id']} ({best['params']}): {pipeline}")


def init_tracking(args) -> None:
    from layerwise.files import write_json
    from layerwise.track.store import init_tracking as create

    info = create(args.uri, args.experiment, args.artifact_root, args.enabled == "true")
    write_json(args.out, info)
    print(json.dumps(info, indent=2))


def init_stage(args) -> None:
    from layerwise.files import write_json
    from layerwise.track.tracking import Tracker, flatten

    spec = stagespec.from_dict(json.loads(args.spec))
    info = Tracker.from_file(args.tracking).open_child("stage", spec.stage, params=flatten(spec.params()))
    Path(args.spec_file).write_text(spec.to_json())
    write_json(args.out, info)
    print(json.dumps(info, indent=2))


def optional_path(values: list[str] | None) -> str | None:
    """`--parents` takes zero paths for the first layer, one for every later stage."""
    return values[0] if values else None


def shard(args) -> None:
    from layerwise.steps.shard import run_shard

    run_shard(
        stagespec.read(args.spec),
        round_=args.round,
        shard=args.shard,
        train=args.train,
        valid=args.valid,
        parents=optional_path(args.parents),
        history=args.history,
        tracking=args.tracking,
        records=args.records,
        weights_dir=args.weights,
        threads=args.threads,
        checkpoints=args.checkpoints,
        device=args.device,
        unlabelled=args.unlabelled,
    )


def select(args) -> None:
    from layerwise.steps.selection import select_stage

    select_stage(
        stagespec.read(args.spec),
        record_paths=args.records,
        parents_path=optional_path(args.parents),
        tracking=args.tracking,
        out_json=args.out,
        out_dir=args.stacks,
        figures_dir=args.figures,
        table_path=args.table,
    )


def retrain(args) -> None:
    from layerwise.steps.seedstudy import retrain as run

    run(
        selected_path=args.selected,
        train=args.train,
        valid=args.valid,
        parents=optional_path(args.parents),
        spec=stagespec.read(args.spec),
        member=args.member,
        refit=args.refit == "true",
        fold=(args.fold, args.folds) if args.folds else None,
        weights=args.weights,
        out=args.out,
        threads=args.threads,
        device=args.device,
    )


def evaluate(args) -> None:
    from layerwise.steps.evaluate import evaluate as run

    summary = run(
        selected_path=args.selected,
        preprocessing_path=args.preprocessing,
        selection_paths=args.selections,
        member_paths=args.members,
        twin_paths=args.twins,
        histogram_path=args.histogram,
        beam_path=args.beam,
        splits=(args.train, args.valid, args.test),
        schema_path=args.schema,
        report=args.report,
        one_se_rule=args.one_se_rule == "true",
        tracking=args.tracking,
        experiment=args.experiment,
        summary_path=args.summary,
        model_path=args.model,
    )
    print(f"test accuracy {summary['test_accuracy']:.4f}")


def package_model(args) -> None:
    from layerwise.model.pyfunc_model import package

    registered = package(
        network=args.network, preprocessor=args.preprocessor, schema=args.schema, raw_test=args.example,
        summary_path=args.summary, tracking=args.tracking,
        register_as=args.experiment if args.register == "true" else None, folder=args.out,
    )  # fmt: skip
    print(f"model: {args.out}" + (f"; registered as {registered}" if registered else ""))


def report(args) -> None:
    from layerwise.files import read_json
    from layerwise.steps.report import write_report

    outputs = {"csv": args.csv, "parquet": args.parquet, "markdown": args.markdown, "provenance": args.provenance}
    write_report(
        record_paths=args.records, summary_path=args.summary, tracking=args.tracking, config=json.loads(args.config),
        data_files=read_json(args.files_read), raw_splits=args.raw_splits, outputs=outputs,
    )  # fmt: skip
