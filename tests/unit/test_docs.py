"""The documentation site builds without a warning (broken links, missing pages or anchors fail it),
and its configuration reference, made from the schema, lists every hyper-parameter the code knows."""

import os
import shutil
import subprocess
import sys

import pytest

from layerwise.stages import finetune, preprocess, pretrain
from support.repo import REPO


def build(root, site) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)]
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=300, env=environment)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    built = build(REPO, site)
    assert built.returncode == 0, built.stderr
    return site


def test_every_page_of_the_navigation_is_built(site):
    for page in ("getting-started", "concepts", "configuration", "reference", "strategies", "results", "model",
                 "cluster", "reliability", "benchmarks", "internals"):  # fmt: skip
        assert (site / page / "index.html").exists(), page


@pytest.mark.parametrize("stage", [preprocess, pretrain, finetune], ids=lambda module: module.__name__)
def test_the_reference_lists_every_hyper_parameter_of_each_stage(site, stage):
    reference = (site / "reference" / "index.html").read_text()
    for name in stage.DEFAULTS:
        assert f"<code>{name}</code>" in reference, name


def test_the_benchmarks_page_shows_the_benchmarks_figures(site):
    for figure in (REPO / "benchmarks" / "figures").glob("*.png"):
        assert (site / "figures" / figure.name).exists(), figure.name


def test_a_broken_link_fails_the_build(tmp_path):
    copy = tmp_path / "repo"
    copy.mkdir()
    for name in ("mkdocs.yml", "README.md", "docs", "benchmarks", "config", "workflow"):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, copy / name)
    (copy / "docs" / "concepts.md").write_text("# Concepts\n\nSee [the missing page](missing.md).\n")
    built = build(copy, tmp_path / "site")
    assert built.returncode != 0 and "missing.md" in built.stderr


def test_the_docs_figures_come_from_a_run_of_the_current_default_config(tmp_path):
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("docs_figures", REPO / "scripts" / "docs-figures.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    record = json.loads((REPO / "docs" / "figures.json").read_text())
    changed = tmp_path / "config.yaml"
    changed.write_text((REPO / "config" / "config.yaml").read_text().replace("patience: 20", "patience: 21"))
    assert script.config_digest(changed) != script.config_digest()  # a value counts (a comment does not)
    assert record["config_sha256"] == script.config_digest(), (
        "config/config.yaml changed after the docs' figures were made: run scripts/docs-figures.py"
    )
    assert all((REPO / "docs" / name).stat().st_size > 0 for name in record["figures"])
