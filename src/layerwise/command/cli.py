"""The `layerwise` command: what a user runs on a run's results (`predict`, ...), and the workflow's
steps, which the rules run as `layerwise step <step> ...`.

Every value arrives as an argument (a stage's spec as the file its init-stage step wrote), so the
library never reads the config file.
"""

import argparse
import sys

from layerwise.command.declaration import add_step_parsers


def predict(args) -> None:
    from layerwise.model.predict_files import predict_file

    rows = predict_file(args.model, args.input, args.output)
    print(f"{rows} rows predicted: {args.output}")


def status(args) -> None:
    from layerwise.present.overview import results_folder
    from layerwise.present.overview import status as describe

    print(describe(results_folder(args.results)))


def best(args) -> None:
    from layerwise.present.overview import best as describe
    from layerwise.present.overview import results_folder

    print(describe(results_folder(args.results)))


def compare(args) -> None:
    from layerwise.present.overview import compare as describe
    from layerwise.present.overview import results_folder

    print(describe(results_folder(args.first), results_folder(args.second)))


def fork_server(args) -> None:
    from layerwise.command.forkserver import serve

    serve(args.socket, run)


def parser() -> argparse.ArgumentParser:
    from importlib.metadata import version

    main_parser = argparse.ArgumentParser(
        prog="layerwise",
        description="Greedy layer-wise hyper-parameter search for deep networks: run it with snakemake (see the "
        "README); these commands work on its results.",
    )
    main_parser.add_argument("--version", action="version", version=f"layerwise {version('layerwise')}")
    commands = main_parser.add_subparsers(dest="command", required=True, title="commands", metavar="COMMAND")
    add_user_commands(commands)
    steps = commands.add_parser(
        "step",
        help="one step of the workflow, as its rules run it (layerwise step --help lists them)",
        description="The workflow's steps. Snakemake runs them; run one yourself only to debug a job.",
    ).add_subparsers(dest="step", required=True, title="steps", metavar="STEP")
    add_step_parsers(steps)
    command = steps.add_parser("fork-server", help="start the workflow's local jobs warm (the workflow starts it)")
    command.add_argument("--socket", required=True, help="where to listen (a path in a folder only this user reads)")
    command.set_defaults(run=fork_server)
    return main_parser


def add_user_commands(commands) -> None:
    """What a user runs on a run's results."""
    results = "results/<experiment> (default: the one experiment under ./results)"
    command = commands.add_parser(
        "status", help="how far a run is: per stage and round, trials finished, failed, running, left",
        description="Per stage and round: trials finished, failed, running and left, the best objective so far, "
        "and about how long the rounds under way still need. Reads the run's files only: works while it runs, "
        "here or on a cluster.",
    )  # fmt: skip
    command.add_argument("results", nargs="?", help=results)
    command.set_defaults(run=status)

    command = commands.add_parser("best", help="what a run found: the final model and the selected configuration")
    command.add_argument("results", nargs="?", help=results)
    command.set_defaults(run=best)

    command = commands.add_parser("compare", help="two runs side by side: headline figures and config differences")
    command.add_argument("first", help="results/<experiment> of one run")
    command.add_argument("second", help="results/<experiment> of the other")
    command.set_defaults(run=compare)

    command = commands.add_parser(
        "predict", help="label new rows with a trained model",
        description="Each row's label and one probability per class, from raw rows (the columns the model was "
        "trained on; others are ignored). Bad rows are refused, naming the row and the column; nothing is written. "
        "A model folder is code (its preprocessing is a pickle): use only one you trust. Its files are checked "
        "against the record packaging made of them before anything is loaded.",
    )  # fmt: skip
    command.add_argument("--model", required=True, help="a model folder: results/<experiment>/model")
    command.add_argument("--input", required=True, help="rows to label: .csv, .parquet or .npz (array x)")
    command.add_argument("--output", required=True, help="where to write the predictions: .csv or .parquet")
    command.set_defaults(run=predict)


def main(argv=None) -> None:
    """The `layerwise` command: run by the workflow's fork server where one serves this Python."""
    from layerwise.command.forkclient import delegate, end_as

    code = delegate(sys.argv[1:] if argv is None else argv)
    if code is not None:
        end_as(code)
    run(argv)


def run(argv=None) -> None:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except BrokenPipeError:  # a reader that stopped early (`layerwise best | head`): as any Unix tool, end quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit's flush writes nowhere
        sys.exit(141)  # 128 + SIGPIPE, what the shell reports for a tool the pipe ended
    except Exception as error:
        from layerwise.errors import UserError

        if isinstance(error, UserError):
            print(f"layerwise {getattr(args, 'step', None) or args.command}: error: {error}", file=sys.stderr)
            sys.exit(1)
        raise
