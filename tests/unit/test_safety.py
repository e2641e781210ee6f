"""Safe by default: files load without running code, and the config is read as plain data."""

import ast
from pathlib import Path

import pytest

import layerwise
from repo import REPO

SOURCES = sorted(Path(layerwise.__file__).parent.glob("*.py"))


def calls(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
        ):
            yield path.name, f"{node.func.value.id}.{node.func.attr}", node


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_torch_files_load_as_weights_only_and_nothing_unpickles_freely(path):
    for name, call, node in calls(path):
        if call == "torch.load":
            keywords = {keyword.arg: keyword.value for keyword in node.keywords}
            assert isinstance(keywords.get("weights_only"), ast.Constant) and keywords["weights_only"].value is True, (
                name
            )
        assert call not in ("pickle.load", "pickle.loads", "yaml.load", "yaml.unsafe_load"), f"{name}: {call}"
        if call == "np.load":
            keywords = {keyword.arg: keyword.value for keyword in node.keywords}
            assert "allow_pickle" not in keywords or keywords["allow_pickle"].value is False, name


def test_the_only_joblib_load_refuses_files_outside_the_results(tmp_path, monkeypatch):
    from layerwise.cli import main
    from layerwise.files import write_json

    outside = tmp_path / "elsewhere.joblib"
    outside.write_bytes(b"not to be loaded")
    selected = tmp_path / "results" / "exp" / "preprocess" / "selected.json"
    selected.parent.mkdir(parents=True)
    write_json(str(selected), {"best": {"weights": str(outside)}})
    with pytest.raises(SystemExit, match="outside the experiment's results"):
        main(["preprocess", "--selected", str(selected), "--splits", *"abc", "--out", *"def", "--preprocessor", "g"])


def test_the_mlflow_server_examples_bind_to_localhost():
    readme = (REPO / "README.md").read_text()
    servers = [line for line in readme.splitlines() if "mlflow server" in line and "--host" in line]
    assert servers and all("--host 127.0.0.1" in line for line in servers)
