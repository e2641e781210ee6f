# Config validation and the helpers that rules use for their inputs and params.
import json
import os
import shutil
from pathlib import Path

import yaml
from layerwise.track.codeversion import code_digest
from layerwise.track.provenance import file_digest
from layerwise.present.figures import STAGE_FIGURES
from layerwise.command import forkserver
from layerwise.command.declaration import step_params
from layerwise.command.environment import command_beside_python_first
from layerwise.command.forkclient import ADDRESS as FORK_SERVER_ADDRESS
from layerwise.config import topology
from layerwise.config.specs import stage_names, stage_rounds, stage_specs
from layerwise.data.transforms import candidate_pipelines, imputes
from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import validate


SCHEMA = Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"
try:
    validate(config, str(SCHEMA))  # also fills in the defaults
except WorkflowError:  # its message dumps the schema; name the key and what it allows instead
    from layerwise.schema import problem

    raise WorkflowError(f"invalid config: {problem(config, yaml.safe_load(SCHEMA.read_text()))}") from None
# The checks that need the library's vocabulary (and so torch and scikit-learn) run once, in the
# snakemake that plans the jobs: a cluster job reads the workflow again, and needs only the specs.
# Missing values are data only when every candidate preprocessing imputes them.
ALLOW_MISSING = all(
    imputes(pipeline)
    for pipeline in candidate_pipelines(config["preprocess"]["space"], config["preprocess"]["strategy"])
)
if workflow.is_main_process:
    from layerwise.config.checks import ConfigError, check_config, check_tracking_uri

    try:
        check_config(config)
        check_tracking_uri(os.environ.get("MLFLOW_TRACKING_URI", ""), "MLFLOW_TRACKING_URI")
    except ConfigError as error:
        raise WorkflowError(f"invalid config: {error}")
    if config["data"]["source"] == "file" or config["data"]["unlabelled_path"]:
        # A user's data is checked before any job runs, so a bad file never costs existing results.
        from layerwise.data.sets import DataError, check_source

        try:
            check_source(config["data"], config["seed"], ALLOW_MISSING)
        except DataError as error:
            raise WorkflowError(f"invalid data: {error}")

CONDA = "conda" in {str(method).lower() for method in workflow.deployment_settings.deployment_method}
if not CONDA:
    command_beside_python_first()
if not CONDA and shutil.which("layerwise") is None:
    raise WorkflowError(
        "the layerwise command is not on PATH nor beside the Python that runs snakemake: run `make run`, or "
        "activate the environment that `make install` creates (source .venv/bin/activate) before calling snakemake"
    )

ENV = "../workflow/envs/layerwise.yaml"  # for --software-deployment-method conda
# The shell of every job: `params.command` is its step's name and options, each bound by `step_params`
# (command/declaration.py) to a value it is given, or else to the job's file or wildcard of that name.
STEP = "layerwise step {params.command} > {log:q} 2>&1"
RESULTS = f"results/{config['experiment']}"
LAYERS = config["pretrain"]["layers"]
SPECS = stage_specs(config)
ROUNDS = stage_rounds(config)
STAGES = stage_names(config)
TRACKING_URI = os.environ.get("MLFLOW_TRACKING_URI") or config["tracking"]["uri"]
CODE = code_digest()  # a param of every rule: editing src/ reruns what it affects


DATA_FILES = {  # as prepare-data's options name them
    "path": config["data"]["path"] if config["data"]["source"] == "file" else None,
    "test_path": config["data"]["test_path"] if config["data"]["source"] == "file" else None,
    "unlabelled_path": config["data"]["unlabelled_path"],
}


def data_files():
    """The user's data files: inputs of the job that reads them."""
    return [path for path in DATA_FILES.values() if path]


# A param of the job that reads them: a file whose bytes changed reruns it, even where its modification
# time went back (a file replaced by an older one), which Snakemake's own check would not notice.
DATA_DIGESTS = {path: file_digest(path)["sha256"] for path in data_files() if os.path.isfile(path)}


wildcard_constraints:
    stage="preprocess|layer[0-9]+|finetune",
    round="[0-9]+",
    shard="[0-9]+",


def shard_records(stage):
    """Every round's shard records of a stage."""
    return topology.stage_records(RESULTS, SPECS[stage], ROUNDS[stage])


def get_history(wildcards):
    """The records of a stage's earlier rounds, from which its strategy proposes the next round."""
    stage = wildcards.stage
    return topology.stage_records(RESULTS, SPECS[stage], ROUNDS[stage], before=int(wildcards.round))


def stage_device(wildcards):
    """Where a stage's trials train: the config's device, but the CPU for preprocessing (scikit-learn)."""
    return "cpu" if wildcards.stage == "preprocess" else config["device"]


def get_stage_data(wildcards):
    return topology.stage_data(RESULTS, wildcards.stage)


def get_parents(wildcards):
    return topology.parents_file(RESULTS, wildcards.stage, LAYERS)


def get_stage_spec(wildcards):
    return SPECS[wildcards.stage].to_json()


def get_stage_records(wildcards):
    return shard_records(wildcards.stage)


def stage_selections():
    """What each stage's selection wrote, in stage order."""
    return [topology.selection_file(RESULTS, stage) for stage in STAGES]


def seed_study_members():
    """The seed study's members: one per seed."""
    return [f"{RESULTS}/seed_study/seed{seed}.json" for seed in range(config["evaluate"]["seeds"])]


def seed_study_twins():
    """The members' twins, which judge them on rows they never trained on: the members themselves unless
    they are refit on train + valid."""
    if not config["evaluate"]["refit_on_train_valid"]:
        return seed_study_members()
    return [f"{RESULTS}/seed_study/twins/seed{seed}.json" for seed in range(config["evaluate"]["seeds"])]


def twin_folds():
    """How many folds the twins are cross-fitted on: one per seed, when there are two or more refits."""
    evaluate = config["evaluate"]
    return evaluate["seeds"] if evaluate["refit_on_train_valid"] and evaluate["seeds"] >= 2 else 0


def in_report(path, caption, category, subcategory=None):
    """`path` flagged for `snakemake --report`, with its caption from workflow/report/."""
    return report(path, caption=f"../workflow/report/{caption}.rst", category=category, subcategory=subcategory)


def stage_figures(stage, kind):
    """A selection rule's figures and top table, under the stage's name in the report."""
    outputs = {
        name: in_report(f"{RESULTS}/{stage}/figures/{name}.png", name, "Stages", stage)
        for name in STAGE_FIGURES[kind]
    }
    outputs["table"] = in_report(f"{RESULTS}/{stage}/top.csv", "top_table", "Stages", stage)
    return outputs


def figures_folder(wildcards, output):
    """The folder of the figure files a selection declares, where it draws them."""
    return os.path.dirname(output.objective)


def all_records():
    return [path for stage in STAGES for path in shard_records(stage)]


def close_open_runs():
    """After an interrupted or failed workflow, no run of this pipeline stays RUNNING in MLflow: they
    are closed as KILLED (a rerun finishes the pipeline and stage runs again)."""
    tracking = Path(f"{RESULTS}/tracking.json")
    if not tracking.exists():
        return
    from layerwise.track.tracking import Tracker

    try:
        closed = Tracker.from_file(str(tracking)).close_open_runs("the workflow was interrupted or failed")
        print(f"layerwise: {closed} open MLflow runs closed as KILLED")
    except Exception as error:  # the store itself is down: nothing more to do here
        print(f"layerwise: could not close the open MLflow runs: {error}")


def warn_of_sqlite_on_a_cluster():
    """An executor that runs jobs on other machines (known once the workflow runs, not when it is read)
    and the sqlite store: say that sqlite on a shared file system is unsafe with concurrent writers."""
    if workflow.non_local_exec and config["tracking"]["enabled"] and TRACKING_URI.startswith("sqlite"):
        logger.warning(
            f"layerwise: jobs run through an executor, but MLflow logs to {TRACKING_URI}; sqlite on a network "
            "file system is unsafe with writers on several machines: start a tracking server "
            "(workflow/scripts/tracking-server.sh) and set MLFLOW_TRACKING_URI (docs: Running on a cluster)"
        )


def write_plan():
    """What `layerwise status` cannot read from the jobs' files: every stage in order with its rounds, and
    the seed study's size, so it can say what is left of the whole run."""
    from layerwise.files import write_json

    stages = [{"stage": stage, "rounds": ROUNDS[stage]} for stage in STAGES]
    write_json(f"{RESULTS}/plan.json", {"stages": stages, "seeds": config["evaluate"]["seeds"]})


FORK_SERVERS = []  # the one this run started, if any


def start_fork_server():
    """Jobs that run on this machine, in this environment, fork from one warm process
    (src/layerwise/command/forkserver.py): it imports once what each cold job would import again."""
    if not config["fork_server"] or workflow.non_local_exec or workflow.deployment_settings.deployment_method:
        return
    server = forkserver.start(Path(f"{RESULTS}/logs/fork_server.log"))
    FORK_SERVERS.append(server)
    os.environ[FORK_SERVER_ADDRESS] = forkserver.socket_of(server)  # jobs inherit it; the server was started without


def stop_fork_server():
    os.environ.pop(FORK_SERVER_ADDRESS, None)
    for server in FORK_SERVERS:
        forkserver.stop(server)


def print_summary():
    """The result, when the run produced it: a partial target (one stage's selection) has none."""
    if not Path(f"{RESULTS}/summary.json").exists():
        return
    summary = json.loads(Path(f"{RESULTS}/summary.json").read_text())
    print(
        f"layerwise: {config['experiment']}: test accuracy {summary['test_accuracy']:.4f} "
        f"(valid error {summary['valid_error']:.4f}); see {RESULTS}/summary.json"
    )
