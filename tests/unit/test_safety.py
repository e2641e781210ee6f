"""Safe by default: files load without running code, no command goes through a shell by itself, the
config is read as plain data, and the tracking server binds to localhost.

Every Python source of the workflow is read: the package (src/), the Snakefile and the rules (compiled
by Snakemake's own parser), and any Python under scripts/ and workflow/. Each name used is resolved
through the module's imports, so `from torch import load`, `import pandas as pd` or
`torch.serialization.load` are seen as what they are, called or not.
"""

import ast
import builtins
import re
import types
from pathlib import Path

import pytest

from support.repo import REPO

SOURCES = sorted(
    [
        *(REPO / "src").rglob("*.py"),
        REPO / "Snakefile",
        *(REPO / "rules").glob("*.smk"),
        *(REPO / "scripts").rglob("*.py"),
        *(REPO / "workflow").rglob("*.py"),
    ]
)
NEVER = {  # each runs code a file carries, or hands a string to a shell
    *("pickle.load", "pickle.loads", "pickle.Unpickler", "dill.load", "dill.loads", "cloudpickle.load"),
    *("cloudpickle.loads", "marshal.load", "marshal.loads", "shelve.open", "pandas.read_pickle"),
    *("yaml.load", "yaml.load_all", "yaml.full_load", "yaml.unsafe_load", "yaml.unsafe_load_all"),
    *("mlflow.pytorch.load_model", "mlflow.sklearn.load_model", "mlflow.pyfunc.load_model", "torch.jit.load"),
    *("builtins.eval", "builtins.exec", "os.system", "os.popen"),
}
WEIGHTS_ONLY = {"torch.load", "torch.serialization.load"}  # only with weights_only=True
NO_PICKLE = {"numpy.load"}  # only without allow_pickle=True
SHELLS = {"subprocess.run", "subprocess.Popen", "subprocess.call", "subprocess.check_call", "subprocess.check_output"}
JOBLIB_ALLOWED = {  # where a pickled preprocessor loads, and why that file is trusted
    "src/layerwise/command/steps.py": "the experiment's own preprocessor, refused outside its results folder (tested)",
    "src/layerwise/model/predictor.py": "a packaged model, its files checked against the record packaging made; "
    "code like any MLflow model: load only one you trust",
}


def module_tree(path: Path) -> ast.Module:
    if path.suffix == ".py":
        return ast.parse(path.read_text())
    import snakemake.api  # noqa: F401  (imports the parser's dependencies in their order)
    from snakemake import parser
    from snakemake.sourcecache import LocalSourceFile

    opening = types.SimpleNamespace(open=lambda source: open(source.get_path_or_uri(secret_free=True)))
    code, _ = parser.parse(LocalSourceFile(str(path)), types.SimpleNamespace(sourcecache=opening), {})
    return ast.parse(code)


def imported_names(tree: ast.Module) -> dict[str, str]:
    """Each name the module binds by an import, to what it names: np -> numpy, load -> torch.load."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            for alias in node.names:
                names[alias.asname or alias.name] = f"{module}.{alias.name}"
    return names


def qualified(node: ast.AST, names: dict[str, str]) -> str | None:
    """`a.b.c` with `a` resolved through the imports, or as a builtin; None for other names."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    if node.id in names:
        root = names[node.id]
    elif hasattr(builtins, node.id):
        root = f"builtins.{node.id}"
    else:
        return None
    return ".".join([root, *reversed(parts)])


def keyword(call: ast.Call | None, key: str):
    """The value `call` passes for `key`: the literal, "absent", or "not a literal"."""
    given = {item.arg: item.value for item in call.keywords} if call else {}
    if key not in given:
        return "absent"
    return given[key].value if isinstance(given[key], ast.Constant) else "not a literal"


def problems(tree: ast.Module) -> list[str]:
    """What the module does that loads code from a file or starts a shell, as 'line: target: why'."""
    names, found = imported_names(tree), []
    calls = {id(node.func): node for node in ast.walk(tree) if isinstance(node, ast.Call)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Name | ast.Attribute) or isinstance(node.ctx, ast.Store):
            continue
        target, call = qualified(node, names), calls.get(id(node))  # call: None where it is not called here
        if target in NEVER:
            found.append(f"{node.lineno}: {target}: never")
        elif target in WEIGHTS_ONLY and (call is None or keyword(call, "weights_only") is not True):
            found.append(f"{node.lineno}: {target}: without weights_only=True")
        elif target in NO_PICKLE and (call is None or keyword(call, "allow_pickle") not in ("absent", False)):
            found.append(f"{node.lineno}: {target}: allow_pickle")
        elif target in SHELLS and keyword(call, "shell") not in ("absent", False):
            found.append(f"{node.lineno}: {target}: shell=True")
        elif target == "joblib.load":
            found.append(f"{node.lineno}: {target}: joblib")
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(REPO)))
def test_no_source_loads_code_from_a_file_or_starts_a_shell(path):
    found = problems(module_tree(path))
    if str(path.relative_to(REPO)) in JOBLIB_ALLOWED:
        found = [problem for problem in found if not problem.endswith("joblib.load: joblib")]
    assert found == []


def test_the_sources_include_the_package_the_snakefile_and_the_rules():
    named = {str(path.relative_to(REPO)) for path in SOURCES}
    assert {"Snakefile", "rules/search.smk", "src/layerwise/command/cli.py", *JOBLIB_ALLOWED} <= named
    assert all(problems(module_tree(REPO / path)) for path in JOBLIB_ALLOWED)  # the allowance is still needed


@pytest.mark.parametrize(
    "code",
    [
        "from torch import load\nload(path)",
        "import torch\ntorch.serialization.load(path, weights_only=False)",
        "import torch\nopen_it = torch.load\nopen_it(path, weights_only=True)",
        "import pandas as pd\npd.read_pickle(path)",
        "from joblib import load as restore\nrestore(path)",
        "import numpy\nnumpy.load(path, allow_pickle=True)",
        "import mlflow.pytorch\nmlflow.pytorch.load_model(uri)",
        "import yaml\nyaml.load(text, Loader=yaml.Loader)",
        "from subprocess import run\nrun(command, shell=True)",
        "eval(text)",
    ],
)
def test_the_check_sees_a_load_or_a_shell_whatever_the_import(code):
    assert problems(ast.parse(code))


@pytest.mark.parametrize(
    "code",
    [
        "import torch\ntorch.load(path, weights_only=True)",
        "import numpy as np\nnp.load(path)",
        "import yaml\nyaml.safe_load(text)",
        "import subprocess\nsubprocess.run([command])",
        "model.eval()",
    ],
)
def test_the_check_lets_safe_loads_pass(code):
    assert problems(ast.parse(code)) == []


def test_the_only_joblib_load_of_the_workflow_refuses_files_outside_the_results(tmp_path):
    from tests.support.records import trial_record

    from layerwise.command.cli import main
    from layerwise.selections import Chosen, Selection, write_selection

    outside = tmp_path / "elsewhere.joblib"
    outside.write_bytes(b"not to be loaded")
    selected = tmp_path / "results" / "exp" / "preprocess" / "selected.json"
    selected.parent.mkdir(parents=True)
    best = Chosen(trial_record(stage="preprocess", weights=str(outside)), ())
    write_selection(str(selected), Selection("preprocess", best=best))
    with pytest.raises(SystemExit, match="outside the experiment's results"):
        arguments = ["--selected", str(selected), "--splits", *"abc", "--out", *"def", "--unlabelled", *"uv"]
        arguments += ["--preprocessor", "g"]
        main(["step", "preprocess", *arguments])


def test_the_tracking_server_binds_to_localhost_by_default_and_in_every_example():
    script = (REPO / "workflow" / "scripts" / "tracking-server.sh").read_text()
    (default,) = re.findall(r"^backend=.*\bhost=(\S+)", script, flags=re.MULTILINE)
    assert default == "127.0.0.1"
    documents = [REPO / "README.md", *(REPO / "docs").glob("*.md")]
    lines = [line for document in documents for line in document.read_text().splitlines()]
    servers = [line for line in lines if "mlflow server" in line and "--host" in line]
    assert servers and all("--host 127.0.0.1" in line for line in servers)
