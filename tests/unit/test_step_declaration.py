"""Each step is declared once, by its signature: the rule's arguments and the command line both come from it."""

import shlex

import pytest
from snakemake.iocontainers import Namedlist
from snakemake.rules import Rule

from layerwise.command import cli, steps
from layerwise.command.declaration import STEPS, BindingError, arguments, step_params


def rule_context(wildcards=None, input=None, output=None, threads=1) -> dict:
    """What snakemake hands a params function: the job's wildcards, input and output, named."""
    return {
        "wildcards": Namedlist(fromdict=wildcards or {}),
        "input": Namedlist(fromdict=input or {}),
        "output": Namedlist(fromdict=output or {}),
        "threads": threads,
    }


def parsed(command: str) -> dict:
    """What the step would be called with, from the command line a rule runs."""
    args = cli.parser().parse_args(["step", *shlex.split(command)])
    return {name: value for name, value in vars(args).items() if name not in ("command", "step", "run")}


RETRAIN_FILES = {
    "input": {"selected": "s.json", "train": "train.npz", "valid": "valid.npz", "parents": [], "spec": "f.json"},
    "output": {"weights": "w.pt", "record": "seed1.json"},
    "wildcards": {"member": "seed1"},
}


def test_a_rule_binds_options_by_name_and_the_step_reads_back_the_same_values():
    command = arguments("retrain", refit=True, folds=4, fold=lambda wildcards: int(wildcards.member[-1]))
    line = command(**rule_context(threads=3, **RETRAIN_FILES))
    assert line.startswith("retrain ")
    assert parsed(line) == {
        "selected": "s.json", "train": "train.npz", "valid": "valid.npz", "parents": [], "spec": "f.json",
        "member": "seed1", "refit": True, "folds": 4, "fold": 1, "weights": "w.pt", "record": "seed1.json",
        "threads": 3, "device": "cpu",
    }  # fmt: skip


def test_values_reach_the_step_as_they_were_whatever_their_characters():
    awkward = {"path": "-my data; rm -rf x.csv", "label_column": "the 'label'", "unlabelled_path": ""}
    command = arguments(
        "prepare-data", source="file", seed=0, valid_fraction=0.2, test_fraction=0.25, generator_seed=None,
        allow_missing=False, **awkward,
    )  # fmt: skip
    outputs = {"splits": ["a b.npz", "c.npz", "d.npz"], "unlabelled": "u.npz", "schema": "s", "files_read": "f"}
    values = parsed(command(**rule_context(output=outputs)))
    assert values["path"] == awkward["path"] and values["label_column"] == awkward["label_column"]
    assert values["splits"] == outputs["splits"] and values["allow_missing"] is False
    assert values["unlabelled_path"] is None and values["generator_seed"] is None  # empty or None: not given


def test_an_option_the_step_does_not_have_fails_when_the_workflow_is_read():
    with pytest.raises(BindingError, match="step retrain has no option refitted; it has selected, train"):
        arguments("retrain", refitted=True)


def test_an_option_the_rule_binds_nowhere_or_twice_fails_when_its_job_is_planned():
    missing = {**RETRAIN_FILES, "output": {"weights": "w.pt"}}
    with pytest.raises(BindingError, match="step retrain: the rule binds no value to its option record"):
        arguments("retrain")(**rule_context(**missing))
    twice = {**RETRAIN_FILES, "input": {**RETRAIN_FILES["input"], "record": "old.json"}}
    with pytest.raises(BindingError, match="option record is both the rule's input and output"):
        arguments("retrain")(**rule_context(**twice))


def test_a_boolean_or_a_choice_outside_what_the_step_allows_is_refused_naming_what_it_allows(capsys):
    line = arguments("retrain")(**rule_context(**RETRAIN_FILES))
    for wrong, allowed in (("--refit=yes", "'yes' is not one of true, false"), ("--device=tpu", "'auto', 'cpu'")):
        with pytest.raises(SystemExit):
            parsed(f"{line} {wrong}")
        assert allowed in capsys.readouterr().err


def test_every_step_is_a_command_with_its_docstring_as_help():
    assert list(STEPS) == [step.__name__.replace("_", "-") for step in steps.STEPS]
    text = cli.parser()._subparsers._group_actions[0].choices["step"].format_help()
    for step in steps.STEPS:
        assert step.__doc__.splitlines()[0] in " ".join(text.split())


def test_a_changed_setting_is_in_the_params_snakemake_compares_and_a_file_binding_is_not():
    """Snakemake leaves a params function of a job's files out of its rerun check: the command is one, so
    the settings it is given must stand apart."""
    params = step_params(
        "shard", device=lambda wildcards: "cuda" if wildcards.stage != "preprocess" else "cpu",
        checkpoints=lambda wildcards, output: output.records + ".checkpoints",
    )  # fmt: skip
    assert Rule._is_deriving_function(params["command"])
    assert not Rule._is_deriving_function(params["settings"])
    assert params["settings"](Namedlist(fromdict={"stage": "finetune"})) == {"device": "cuda"}
