"""`device: cuda` makes the training jobs ask Snakemake (and so SLURM) for a GPU, and only those."""

import re

import pytest

from support.runner import smoke_config, snakemake

pytestmark = pytest.mark.e2e


def planned_jobs(workdir, device: str) -> list[dict]:
    """Each job of a dry run: rule, stage wildcard, resources and shell command."""
    process = snakemake(workdir, smoke_config(device=device), "-n", "-p")
    assert process.returncode == 0, process.stderr
    jobs = []
    for block in re.split(r"\n\[[^\]]+\]\n", process.stdout)[1:]:
        rule = re.match(r"(?:local)?rule (\w+):", block)
        if rule:
            stage = re.search(r"wildcards: stage=(\w+)", block)
            resources = re.search(r"resources: (.*)", block)
            jobs.append(
                {
                    "rule": rule.group(1),
                    "stage": stage.group(1) if stage else None,
                    "gpu": "gpu=1" in resources.group(1).split(", ") if resources else False,
                    "device": (re.search(r"--device=(\w+)", block) or [None, None])[1],
                }
            )
    return jobs


TRAINING = ("run_shard", "retrain", "retrain_twin")  # the rules whose jobs train networks


def test_with_cuda_each_training_job_asks_for_one_gpu(tmp_path):
    jobs = planned_jobs(tmp_path, "cuda")
    training = [job for job in jobs if job["rule"] in TRAINING and job["stage"] != "preprocess"]
    assert len(training) == 6 + 3 + 3  # 2 shards in each of layer1, layer2 and finetune; 3 seeds, 3 twins
    assert all(job["gpu"] and job["device"] == "cuda" for job in training)
    rest = [job for job in jobs if job not in training]
    assert not any(job["gpu"] for job in rest)
    assert {job["device"] for job in rest if job["rule"] == "run_shard"} == {"cpu"}  # preprocessing: scikit-learn


def test_on_the_cpu_no_job_asks_for_a_gpu(tmp_path):
    jobs = planned_jobs(tmp_path, "cpu")
    assert not any(job["gpu"] for job in jobs)
    assert {job["device"] for job in jobs if job["rule"] in TRAINING} == {"cpu"}
