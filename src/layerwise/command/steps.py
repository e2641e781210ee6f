"""The workflow's steps as commands: `layerwise step <step> ...`, one per rule, each reading its inputs
from the files a rule names and writing its outputs where the rule says."""

import json
from pathlib import Path

from layerwise import stagespec
from layerwise.config.specs import REPORTS, SPLITS
from layerwise.data.sets import BUILTIN
from layerwise.learn.devices import DEVICES

BOOLEAN = ("true", "false")  # as the rules write a config's booleans


def prepare_data(args) -> None:
    from layerwise.data.sets import load_and_split, save_split
    from layerwise.files import write_json

    splits = load_and_split(
        args.source, args.seed, args.valid_fraction, args.test_fraction, args.path, args.test_path, args.label_column,
        args.allow_missing == "true",
    )  # fmt: skip
    for name, path in zip(SPLITS, args.out, strict=True):
        save_split(splits[name], path)
    write_json(args.schema, {"columns": splits["columns"], "classes": splits["classes"].tolist()})
    sizes = {name: len(splits[name].y) for name in SPLITS}
    print(f"{args.source}: {sizes}, {splits['train'].x.shape[1]} features, {len(splits['classes'])} classes")


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
    for path, out in zip(args.splits, args.out, strict=True):
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
        parents=args.parents,
        spec=stagespec.read(args.spec),
        member=args.member,
        refit=args.refit == "true",
        weights=args.weights,
        out=args.out,
        threads=args.threads,
        device=args.device,
    )


def evaluate(args) -> None:
    from layerwise.steps.evaluate import evaluate as run

    summary = run(
        args.selected,
        args.preprocessing,
        args.selections,
        args.members,
        args.histogram,
        args.beam,
        (args.train, args.valid, args.test),
        args.report,
        args.one_se_rule == "true",
        args.tracking,
        args.experiment,
        args.summary,
        args.model,
    )
    print(f"test accuracy {summary['test_accuracy']:.4f}")


def package_model(args) -> None:
    from layerwise.model.pyfunc_model import package

    registered = package(
        args.network, args.preprocessor, args.schema, args.example, args.summary, args.tracking,
        args.experiment if args.register == "true" else None, args.out,
    )  # fmt: skip
    print(f"model: {args.out}" + (f"; registered as {registered}" if registered else ""))


def report(args) -> None:
    from layerwise.steps.report import write_report

    outputs = {"csv": args.csv, "parquet": args.parquet, "markdown": args.markdown, "provenance": args.provenance}
    write_report(
        args.records, args.summary, args.tracking, json.loads(args.config), args.data_files, args.raw_splits, outputs
    )


def add_steps(commands, run_command) -> None:
    """The workflow's steps, each the command of a rule; the fork server's children run `run_command`
    (the whole command line's)."""

    def fork_server(args) -> None:
        from layerwise.command.forkserver import serve

        serve(args.socket, run_command)

    command = commands.add_parser("prepare-data", help="load a data set and split it")
    command.add_argument("--source", choices=(*BUILTIN, "file"), required=True, help="a built-in data set, or file")
    command.add_argument("--seed", type=int, required=True, help="the global seed (the splits derive from it)")
    command.add_argument("--valid-fraction", type=float, required=True, help="of the training part, for validation")
    command.add_argument("--test-fraction", type=float, required=True, help="held out where there is no test file")
    command.add_argument("--path", help="the data file (source file): .csv, .parquet or .npz")
    command.add_argument("--test-path", help="the test file of a pre-split pair")
    command.add_argument("--label-column", default="label", help="the label's column (or NPZ array)")
    command.add_argument(
        "--allow-missing", choices=BOOLEAN, default="false", help="accept NaN (the preprocessing imputes)"
    )
    command.add_argument("--out", nargs=3, required=True, metavar=SPLITS, help="where to write the three splits")
    command.add_argument("--schema", required=True, help="where to write the feature columns and class labels (JSON)")
    command.set_defaults(run=prepare_data)

    command = commands.add_parser("preprocess", help="apply the selected preprocessing to all splits")
    command.add_argument("--selected", required=True, help="the preprocessing stage's selection (JSON)")
    command.add_argument("--splits", nargs=3, required=True, metavar=SPLITS, help="the raw splits")
    command.add_argument("--out", nargs=3, required=True, metavar=SPLITS, help="where to write them preprocessed")
    command.add_argument("--preprocessor", required=True, help="where to copy the fitted preprocessing (joblib)")
    command.set_defaults(run=preprocess)

    command = commands.add_parser("init-tracking", help="create the MLflow experiment, pipeline and stage runs")
    command.add_argument("--uri", required=True, help="the MLflow tracking URI")
    command.add_argument("--experiment", required=True, help="the MLflow experiment's name")
    command.add_argument("--artifact-root", required=True, help="where the experiment's artifacts go")
    command.add_argument("--enabled", choices=BOOLEAN, default="true", help="false: no store, only files")
    command.add_argument("--out", required=True, help="where to write the tracking file (JSON)")
    command.set_defaults(run=init_tracking)

    command = commands.add_parser("init-stage", help="open a stage's MLflow run under the pipeline run")
    command.add_argument("--tracking", required=True, help="the pipeline's tracking file")
    command.add_argument("--spec", required=True, help="the stage spec, as JSON; logged as the run's params")
    command.add_argument("--spec-file", required=True, help="where to write the spec, which the stage's jobs read")
    command.add_argument("--out", required=True, help="where to write the stage's tracking file (JSON)")
    command.set_defaults(run=init_stage)

    command = commands.add_parser("shard", help="run one shard of a stage's trials")
    command.add_argument("--spec", required=True, help="the stage spec (a JSON file)")
    command.add_argument("--round", type=int, required=True, help="the stage's round")
    command.add_argument("--shard", type=int, required=True, help="this shard's number in the round")
    command.add_argument("--train", required=True, help="the preprocessed training split (NPZ)")
    command.add_argument("--valid", required=True, help="the preprocessed validation split (NPZ)")
    command.add_argument("--parents", nargs="*", help="top-K file of the previous stage")
    command.add_argument("--history", nargs="*", default=[], help="shard records of the stage's earlier rounds")
    command.add_argument("--tracking", required=True, help="the stage's tracking file")
    command.add_argument("--records", required=True, help="where to write the shard's trial records (JSON)")
    command.add_argument("--weights", required=True, help="folder for the trials' weights")
    command.add_argument("--threads", type=int, default=1, help="torch threads")
    command.add_argument("--checkpoints", help="folder for the training state of long trials (kept across attempts)")
    add_device_argument(command)
    command.set_defaults(run=shard)

    command = commands.add_parser("select", help="rank a stage's trials and keep the top K")
    command.add_argument("--spec", required=True, help="the stage spec (a JSON file)")
    command.add_argument("--records", nargs="+", required=True, help="the shard records of every round")
    command.add_argument("--parents", nargs="*", help="top-K file of the previous stage")
    command.add_argument("--tracking", required=True, help="the stage's tracking file")
    command.add_argument("--out", required=True, help="where to write the selection (JSON)")
    command.add_argument("--stacks", help="folder for the top-K stacks (pretraining stages)")
    command.add_argument("--figures", required=True, help="folder for the stage's figures (PNG)")
    command.add_argument("--table", required=True, help="where to write the stage's top trials (CSV)")
    command.set_defaults(run=select)

    command = commands.add_parser("retrain", help="train the selected configuration again (seed study, refit)")
    command.add_argument("--selected", required=True, help="the fine-tuning selection (JSON)")
    command.add_argument("--train", required=True, help="the preprocessed training split (NPZ)")
    command.add_argument("--valid", required=True, help="the preprocessed validation split (NPZ)")
    command.add_argument("--parents", required=True, help="top-K file of the last pretrained layer")
    command.add_argument("--spec", required=True, help="the fine-tuning stage spec (a JSON file)")
    command.add_argument("--member", required=True, help="seed<i>")
    command.add_argument(
        "--refit", choices=BOOLEAN, default="false",
        help="true: train on train + valid for the epochs early stopping chose",
    )  # fmt: skip
    command.add_argument("--weights", required=True, help="where to save the member's network")
    command.add_argument("--out", required=True, help="where to write the member's record (JSON)")
    command.add_argument("--threads", type=int, default=1, help="torch threads")
    add_device_argument(command)
    command.set_defaults(run=retrain)

    command = commands.add_parser("evaluate", help="test the selected network and write the summary")
    command.add_argument("--selected", required=True, help="the fine-tuning selection (JSON)")
    command.add_argument("--preprocessing", required=True, help="the preprocessing stage's selection (JSON)")
    command.add_argument("--selections", nargs="+", required=True, help="every stage's selection, in stage order")
    command.add_argument("--members", nargs="+", required=True, help="the seed study's member records")
    command.add_argument("--histogram", required=True, help="where to draw the seed study's histogram (PNG)")
    command.add_argument("--beam", required=True, help="where to draw the beam of top-K stacks (PNG)")
    command.add_argument("--train", required=True, help="the preprocessed training split (fits the baseline)")
    command.add_argument("--valid", required=True, help="the preprocessed validation split (chooses the baseline's C)")
    command.add_argument("--test", required=True, help="the preprocessed test split: only this step reads it")
    command.add_argument("--report", choices=REPORTS, required=True, help="which network is the final model")
    command.add_argument(
        "--one-se-rule", choices=BOOLEAN, required=True,
        help="report the logistic baseline instead when its validation error is within one standard error",
    )  # fmt: skip
    command.add_argument("--tracking", required=True, help="the pipeline's tracking file")
    command.add_argument("--experiment", required=True, help="the experiment's name")
    command.add_argument("--summary", required=True, help="where to write summary.json")
    command.add_argument("--model", required=True, help="where to save the final model (model.pt)")
    command.set_defaults(run=evaluate)

    command = commands.add_parser("package-model", help="write the final model as an MLflow model, log and register it")
    command.add_argument("--network", required=True, help="the reported network's checkpoint (model.pt)")
    command.add_argument("--preprocessor", required=True, help="the fitted preprocessing (joblib)")
    command.add_argument("--schema", required=True, help="the raw data's feature columns and class labels (JSON)")
    command.add_argument("--example", required=True, help="the raw test split, whose first rows are the input example")
    command.add_argument("--summary", required=True, help="summary.json, whose figures tag the registered version")
    command.add_argument("--tracking", required=True, help="the pipeline's tracking file")
    command.add_argument("--experiment", required=True, help="the name the model is registered under")
    command.add_argument("--register", choices=BOOLEAN, required=True, help="register the model in MLflow")
    command.add_argument("--out", required=True, help="the model folder to write")
    command.set_defaults(run=package_model)

    command = commands.add_parser("report", help="write the trials table and close the pipeline run")
    command.add_argument("--records", nargs="+", required=True, help="every stage's shard records")
    command.add_argument("--summary", required=True, help="summary.json")
    command.add_argument("--tracking", required=True, help="the pipeline's tracking file")
    command.add_argument("--config", required=True, help="the resolved config, as JSON, logged on the pipeline run")
    command.add_argument("--csv", required=True, help="where to write trials.csv")
    command.add_argument("--parquet", required=True, help="where to write trials.parquet")
    command.add_argument("--markdown", required=True, help="where to write summary.md")
    command.add_argument("--provenance", required=True, help="where to write what reproduces the run (JSON)")
    command.add_argument("--data-files", nargs="*", default=[], help="the user's data files, digested in provenance")
    command.add_argument("--raw-splits", nargs=3, required=True, metavar=SPLITS, help="logged as the run's datasets")
    command.set_defaults(run=report)

    command = commands.add_parser("fork-server", help="start the workflow's local jobs warm (started by the workflow)")
    command.add_argument("--socket", required=True, help="where to listen (a path in a folder only this user reads)")
    command.set_defaults(run=fork_server)


def add_device_argument(command) -> None:
    command.add_argument("--device", choices=DEVICES, default="cpu", help="where trials train")
