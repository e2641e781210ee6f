"""Reruns: the same numbers from scratch, only the stages a config change touches, and a record of
what reproduces the run."""

import getpass
import json
import re
import shutil
import subprocess

import pytest
import torch
from reliability_runs import RELIABILITY, reliability_config

from support.repo import REPO
from support.runner import Run, same_numbers, snakemake

pytestmark = pytest.mark.e2e


def planned_jobs(output: str) -> set[tuple[str, str]]:
    """(rule, stage) of every job a dry run plans; stage is "" for rules without one."""
    jobs = set()
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", output):
        rule = re.match(r"(?:local)?rule (\w+):", block.strip())
        if rule:
            stage = re.search(r"wildcards:.*?stage=(\w+)", block)
            jobs.add((rule.group(1), stage.group(1) if stage else ""))
    return jobs


def test_deleting_the_results_but_not_the_store_and_rerunning_gives_the_same_numbers(reference, tmp_path):
    workdir = tmp_path / "copy"
    shutil.copytree(reference.workdir, workdir)
    shutil.rmtree(workdir / "results" / RELIABILITY["experiment"])
    process = snakemake(workdir, RELIABILITY)
    assert process.returncode == 0, process.stderr[-3000:]
    same_numbers(Run(workdir, RELIABILITY, process), reference)


@pytest.mark.parametrize(
    "changed, rerun, kept",
    [
        ("finetune", {"finetune"}, {"preprocess", "layer1"}),
        ("pretrain", {"layer1", "finetune"}, {"preprocess"}),
    ],
)
def test_changing_one_stage_reruns_it_and_the_stages_after_it_only(reference, changed, rerun, kept):
    section = json.loads(json.dumps(RELIABILITY[changed]))
    section["space"]["learning_rate"]["high"] = 0.2
    process = snakemake(reference.workdir, reliability_config(**{changed: section}), "-n")
    assert process.returncode == 0, process.stderr[-3000:]
    jobs = planned_jobs(process.stdout)
    stages = {stage for rule, stage in jobs if stage}
    assert rerun <= stages and not kept & stages
    assert ("prepare_data", "") not in jobs and ("report", "") in jobs


def test_the_pipeline_run_records_what_reproduces_it(reference):
    origin = json.loads((reference.results / "provenance.json").read_text())
    assert origin["config"]["finetune"]["trials_per_parent"] == RELIABILITY["finetune"]["trials_per_parent"]
    assert origin["seed"] == RELIABILITY["seed"]
    assert (
        origin["packages"]["torch"] == torch.__version__ and origin["packages"]["snakemake"] and origin["code_digest"]
    )
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:  # a git checkout: the run names its commit
        assert origin["git"]["commit"] == head.stdout.strip()
    pipeline = reference.mlflow_runs("tags.`layerwise.role` = 'pipeline'")[0]
    assert pipeline.data.tags["layerwise.code_digest"] == origin["code_digest"]
    assert pipeline.data.tags["layerwise.git_commit"].startswith(origin["git"]["commit"] if origin["git"] else "none")
    assert pipeline.data.tags["mlflow.source.name"] == str(REPO / "Snakefile")  # the UI's Source column
    assert pipeline.data.tags["mlflow.user"] == getpass.getuser()
    if origin["git"]:
        assert pipeline.data.tags["mlflow.source.git.commit"] == origin["git"]["commit"]
    from mlflow.tracking import MlflowClient

    artifacts = {a.path for a in MlflowClient(reference.tracking_uri).list_artifacts(pipeline.info.run_id)}
    assert {"provenance.json", "config.json"} <= artifacts
