"""The command line of the workflow's steps (`layerwise step <step> ...`): one subcommand per rule,
with the files it reads and writes (command/steps.py runs them)."""

from layerwise.command import steps
from layerwise.config.specs import REPORTS, SPLITS
from layerwise.data.sets import BUILTIN
from layerwise.learn.devices import DEVICES

BOOLEAN = ("true", "false")  # as the rules write a config's booleans


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
    command.add_argument("--generator-seed", type=int, help="MNIST-1D's generator seed (default: the package's)")
    command.add_argument(
        "--allow-missing", choices=BOOLEAN, default="false", help="accept NaN (the preprocessing imputes)"
    )
    command.add_argument("--unlabelled-path", help="a file of rows without labels")
    command.add_argument("--out", nargs=3, required=True, metavar=SPLITS, help="where to write the three splits")
    command.add_argument("--unlabelled", required=True, help="where to write the rows without a label (NPZ)")
    command.add_argument(
        "--schema", required=True, help="where to write the feature columns, class labels and row counts (JSON)"
    )
    command.add_argument("--files-read", required=True, help="where to write each data file read, with its sha256")
    command.set_defaults(run=steps.prepare_data)

    command = commands.add_parser("preprocess", help="apply the selected preprocessing to all splits")
    command.add_argument("--selected", required=True, help="the preprocessing stage's selection (JSON)")
    command.add_argument("--splits", nargs=3, required=True, metavar=SPLITS, help="the raw splits")
    command.add_argument("--out", nargs=3, required=True, metavar=SPLITS, help="where to write them preprocessed")
    command.add_argument(
        "--unlabelled", nargs=2, required=True, metavar=("RAW", "OUT"), help="the rows without a label, preprocessed"
    )
    command.add_argument("--preprocessor", required=True, help="where to copy the fitted preprocessing (joblib)")
    command.set_defaults(run=steps.preprocess)

    command = commands.add_parser("init-tracking", help="create the MLflow experiment, pipeline and stage runs")
    command.add_argument("--uri", required=True, help="the MLflow tracking URI")
    command.add_argument("--experiment", required=True, help="the MLflow experiment's name")
    command.add_argument("--artifact-root", required=True, help="where the experiment's artifacts go")
    command.add_argument("--enabled", choices=BOOLEAN, default="true", help="false: no store, only files")
    command.add_argument("--out", required=True, help="where to write the tracking file (JSON)")
    command.set_defaults(run=steps.init_tracking)

    command = commands.add_parser("init-stage", help="open a stage's MLflow run under the pipeline run")
    command.add_argument("--tracking", required=True, help="the pipeline's tracking file")
    command.add_argument("--spec", required=True, help="the stage spec, as JSON; logged as the run's params")
    command.add_argument("--spec-file", required=True, help="where to write the spec, which the stage's jobs read")
    command.add_argument("--out", required=True, help="where to write the stage's tracking file (JSON)")
    command.set_defaults(run=steps.init_stage)

    command = commands.add_parser("shard", help="run one shard of a stage's trials")
    command.add_argument("--spec", required=True, help="the stage spec (a JSON file)")
    command.add_argument("--round", type=int, required=True, help="the stage's round")
    command.add_argument("--shard", type=int, required=True, help="this shard's number in the round")
    command.add_argument("--train", required=True, help="the preprocessed training split (NPZ)")
    command.add_argument("--valid", required=True, help="the preprocessed validation split (NPZ)")
    command.add_argument("--unlabelled", help="the rows without a label (NPZ), for the stages that need none")
    command.add_argument("--parents", nargs="*", help="top-K file of the previous stage")
    command.add_argument("--history", nargs="*", default=[], help="shard records of the stage's earlier rounds")
    command.add_argument("--tracking", required=True, help="the stage's tracking file")
    command.add_argument("--records", required=True, help="where to write the shard's trial records (JSON)")
    command.add_argument("--weights", required=True, help="folder for the trials' weights")
    command.add_argument("--threads", type=int, default=1, help="torch threads")
    command.add_argument("--checkpoints", help="folder for the training state of long trials (kept across attempts)")
    add_device_argument(command)
    command.set_defaults(run=steps.shard)

    command = commands.add_parser("select", help="rank a stage's trials and keep the top K")
    command.add_argument("--spec", required=True, help="the stage spec (a JSON file)")
    command.add_argument("--records", nargs="+", required=True, help="the shard records of every round")
    command.add_argument("--parents", nargs="*", help="top-K file of the previous stage")
    command.add_argument("--tracking", required=True, help="the stage's tracking file")
    command.add_argument("--out", required=True, help="where to write the selection (JSON)")
    command.add_argument("--stacks", help="folder for the top-K stacks (pretraining stages)")
    command.add_argument("--figures", required=True, help="folder for the stage's figures (PNG)")
    command.add_argument("--table", required=True, help="where to write the stage's top trials (CSV)")
    command.set_defaults(run=steps.select)

    command = commands.add_parser("retrain", help="train the selected configuration again (seed study, refit)")
    command.add_argument("--selected", required=True, help="the fine-tuning selection (JSON)")
    command.add_argument("--train", required=True, help="the preprocessed training split (NPZ)")
    command.add_argument("--valid", required=True, help="the preprocessed validation split (NPZ)")
    command.add_argument("--parents", nargs="*", help="top-K file of the last pretrained layer, if any")
    command.add_argument("--spec", required=True, help="the fine-tuning stage spec (a JSON file)")
    command.add_argument("--member", required=True, help="seed<i>")
    command.add_argument(
        "--refit", choices=BOOLEAN, default="false",
        help="true: train on train + valid for the epochs early stopping chose",
    )  # fmt: skip
    command.add_argument(
        "--folds", type=int, default=0,
        help="a cross-fitted twin: the labelled rows cut into this many folds (0: none)",
    )  # fmt: skip
    command.add_argument("--fold", type=int, default=0, help="the fold the twin leaves out, from 0")
    command.add_argument("--weights", required=True, help="where to save the member's network")
    command.add_argument("--out", required=True, help="where to write the member's record (JSON)")
    command.add_argument("--threads", type=int, default=1, help="torch threads")
    add_device_argument(command)
    command.set_defaults(run=steps.retrain)

    command = commands.add_parser("evaluate", help="test the selected network and write the summary")
    command.add_argument("--selected", required=True, help="the fine-tuning selection (JSON)")
    command.add_argument("--preprocessing", required=True, help="the preprocessing stage's selection (JSON)")
    command.add_argument("--selections", nargs="+", required=True, help="every stage's selection, in stage order")
    command.add_argument("--members", nargs="+", required=True, help="the seed study's member records")
    command.add_argument(
        "--twins", nargs="+", required=True,
        help="the members' twins: cross-fitted, trained on the training rows only, or the members themselves",
    )  # fmt: skip
    command.add_argument("--histogram", required=True, help="where to draw the seed study's histogram (PNG)")
    command.add_argument("--beam", required=True, help="where to draw the beam of top-K stacks (PNG)")
    command.add_argument("--train", required=True, help="the preprocessed training split (fits the baseline)")
    command.add_argument("--valid", required=True, help="the preprocessed validation split (chooses the baseline's C)")
    command.add_argument("--test", required=True, help="the preprocessed test split: only this step reads it")
    command.add_argument("--schema", required=True, help="the raw data's schema (JSON), with its row counts")
    command.add_argument("--report", choices=REPORTS, required=True, help="the final model (auto: chosen on evidence)")
    command.add_argument(
        "--one-se-rule", choices=BOOLEAN, required=True,
        help="of the candidates within one paired standard error of the best on validation, take the simplest",
    )  # fmt: skip
    command.add_argument("--tracking", required=True, help="the pipeline's tracking file")
    command.add_argument("--experiment", required=True, help="the experiment's name")
    command.add_argument("--summary", required=True, help="where to write summary.json")
    command.add_argument("--model", required=True, help="where to save the final model (model.pt)")
    command.set_defaults(run=steps.evaluate)

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
    command.set_defaults(run=steps.package_model)

    command = commands.add_parser("report", help="write the trials table and close the pipeline run")
    command.add_argument("--records", nargs="+", required=True, help="every stage's shard records")
    command.add_argument("--summary", required=True, help="summary.json")
    command.add_argument("--tracking", required=True, help="the pipeline's tracking file")
    command.add_argument("--config", required=True, help="the resolved config, as JSON, logged on the pipeline run")
    command.add_argument("--csv", required=True, help="where to write trials.csv")
    command.add_argument("--parquet", required=True, help="where to write trials.parquet")
    command.add_argument("--markdown", required=True, help="where to write summary.md")
    command.add_argument("--provenance", required=True, help="where to write what reproduces the run (JSON)")
    command.add_argument("--files-read", required=True, help="the user's data files prepare-data read, with digests")
    command.add_argument("--raw-splits", nargs=3, required=True, metavar=SPLITS, help="logged as the run's datasets")
    command.set_defaults(run=steps.report)

    command = commands.add_parser("fork-server", help="start the workflow's local jobs warm (started by the workflow)")
    command.add_argument("--socket", required=True, help="where to listen (a path in a folder only this user reads)")
    command.set_defaults(run=fork_server)


def add_device_argument(command) -> None:
    command.add_argument("--device", choices=DEVICES, default="cpu", help="where trials train")
