"""The invariants the code's docstrings state, enforced: imports flow one way (no cycle), modules stay
short, one module talks to MLflow (and the model format, to its pyfunc API), Snakemake's own process
imports no heavy library, and no job that trains or selects is given a test split."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import layerwise
from support.repo import REPO
from support.runner import smoke_config, snakemake

PACKAGE = Path(layerwise.__file__).parent
MLFLOW_MODULES = {"store", "tracking", "pyfunc_model"}  # the store, the run tree; the model format
# The subpackages, each importing only those before it (and the base modules, before them all).
LAYERS = (
    "base",
    "data",
    "track",
    "learn",
    "search",
    "packs",
    "stages",
    "present",
    "model",
    "config",
    "steps",
    "command",
)
BASE = {"errors", "files", "hyperparameters", "records", "seeding", "schema", "selections", "stagespec", "status"}
# Preprocessing transforms every split; evaluation, the model's input example and the datasets logged
# with the run read the test split; nothing else may.
READS_TEST = {"prepare_data", "preprocess", "evaluate", "package_model", "report"}


def imports(path: Path) -> set[str]:
    """The modules a source imports anywhere in it (inside functions too), by dotted name."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")


def layerwise_graph() -> dict[str, set[str]]:
    """Each layerwise module -> the layerwise modules it imports."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: {other for other in imports(path) if other in modules} - {name} for name, path in modules.items()}


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of the graph, or none."""
    state, path = {}, []

    def visit(node) -> list[str]:
        state[node] = "open"
        path.append(node)
        for other in sorted(graph[node]):
            if state.get(other) == "open":
                return path[path.index(other) :] + [other]
            if other not in state and (found := visit(other)):
                return found
        state[node] = "done"
        path.pop()
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_the_modules_import_one_another_without_a_cycle():
    graph = layerwise_graph()
    assert len(graph) > 40 and graph["layerwise.command.cli"]  # the graph is read, not empty
    assert cycle(graph) == []


def layer(module: str) -> str:
    part = module.split(".")[1] if "." in module else "base"
    return "base" if part in BASE else part


def test_every_module_lies_in_a_subpackage_or_among_the_base_modules():
    assert {layer(module) for module in layerwise_graph() if module not in ("layerwise", "layerwise.__main__")} <= set(
        LAYERS
    )
    assert {module for module in layerwise_graph() if layer(module) == "base"} >= {f"layerwise.{m}" for m in BASE}


def test_no_subpackage_imports_one_above_it():
    upward = [
        f"{module} -> {other}"
        for module, others in layerwise_graph().items()
        for other in others
        if module not in ("layerwise", "layerwise.__main__")
        and LAYERS.index(layer(other)) > LAYERS.index(layer(module))
    ]
    assert upward == []


MAX_LINES = 300  # a module a reader takes in at one sitting


def test_every_module_reads_at_one_sitting():
    long = {path.name: n for path in PACKAGE.rglob("*.py") if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


@pytest.mark.parametrize("subpackage", LAYERS[1:])
def test_each_subpackage_says_what_lives_in_it(subpackage):
    docstring = ast.get_docstring(ast.parse((PACKAGE / subpackage / "__init__.py").read_text()))
    assert docstring and len(docstring.split()) >= 8, subpackage


def test_the_cycle_check_finds_a_cycle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]


def test_only_the_tracking_and_model_modules_import_mlflow():
    users = {path.stem for path in PACKAGE.rglob("*.py") if any(re.match(r"mlflow\b", n) for n in imports(path))}
    assert users == MLFLOW_MODULES


def test_a_stage_writes_its_trials_to_the_trial_log_alone():
    """Opening, epochs, end, interruption and the selection's repairs go through track/triallog.py,
    which owns MLflow's part."""
    graph = layerwise_graph()
    for module in ("layerwise.steps.shard", "layerwise.steps.lifecycle", "layerwise.steps.selection"):
        assert {other for other in graph[module] if other.startswith("layerwise.track.")} == {
            "layerwise.track.triallog"
        }, module


def test_outside_track_only_the_model_registration_reaches_the_tracker():
    """The jobs write to the store through the trial log (a stage's trials) and the run log (the pipeline's
    runs); packaging the final model registers it, which is MLflow's own model API."""
    graph = layerwise_graph()
    direct = {"layerwise.track.tracking", "layerwise.track.trialruns", "layerwise.track.store"}
    users = {module for module, others in graph.items() if others & direct and not module.startswith("layerwise.track")}
    assert users == {"layerwise.model.pyfunc_model"}


@pytest.fixture(scope="module")
def planned_jobs(tmp_path_factory) -> list[tuple[str, str]]:
    """(rule, its input files) of every job of the smoke config, as a dry run plans them."""
    process = snakemake(tmp_path_factory.mktemp("dry-run"), smoke_config(), "-n")
    assert process.returncode == 0, process.stderr
    jobs = re.findall(r"^rule (\w+):\n(?:    input: (.*)\n)?", process.stdout + process.stderr, flags=re.MULTILINE)
    assert {rule for rule, _ in jobs} >= {"run_shard", "select_layer", "retrain", "evaluate"}
    return jobs


def test_no_job_that_trains_or_selects_is_given_a_test_split(planned_jobs):
    given_test = {rule for rule, inputs in planned_jobs if re.search(r"/test\.npz\b", inputs)}
    assert "evaluate" in given_test and given_test <= READS_TEST


def test_reading_the_workflow_and_checking_a_config_import_no_heavy_library():
    """Snakemake's own process (every cluster job's too) reads the rules' imports, and the main one
    checks the config: torch, pandas, MLflow or matplotlib there would cost seconds on every start."""
    rules = "\n".join(path.read_text() for path in (REPO / "rules").glob("*.smk"))
    imports = re.findall(r"^from layerwise\S* import .+$", rules, flags=re.MULTILINE)
    assert len(imports) >= 5  # the rules' top-level imports, which every snakemake process runs
    heavy = "[m for m in ('torch', 'pandas', 'mlflow', 'matplotlib') if m in sys.modules]"
    check = "from layerwise.config.checks import check_config"
    probe = "\n".join(["import sys", *imports, check, f"assert not {heavy}, {heavy}"])
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
