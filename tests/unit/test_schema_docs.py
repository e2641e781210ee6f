"""The config schema documents every hyper-parameter of each stage, as the code defines it."""

import re

import pytest
import yaml

from layerwise.config.checks import ConfigError, check_config
from layerwise.hyperparameters import TABLE
from layerwise.learn.learners import ALGORITHMS
from layerwise.stages import finetune, preprocess, pretrain
from support.repo import REPO

SCHEMA_PATH = REPO / "workflow" / "schemas" / "config.schema.yaml"
STAGES = {"preprocess": preprocess, "pretrain": pretrain, "finetune": finetune}
DESCRIPTION = re.compile(r"^(?P<meaning>.+); allowed: (?P<allowed>.+); default: (?P<default>[^;]+)$")
USED_BY = re.compile(r"\(used by: (?P<names>[a-z_, ]+)\)")


def schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def documented(stage: str) -> dict:
    """The properties of a stage's space definition: name -> its schema."""
    return schema()["definitions"][f"{stage}_space"]["properties"]


def validated(config: dict) -> dict:
    from snakemake.utils import validate

    validate(config, str(SCHEMA_PATH))
    return config


def documented_entries():
    return [(stage, name) for stage, module in STAGES.items() for name in module.DEFAULTS]


def test_the_schema_is_a_valid_draft_2020_12_schema():
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(schema())


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_space_documents_exactly_its_hyper_parameters(stage):
    assert set(documented(stage)) == set(STAGES[stage].DEFAULTS)


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_space_points_at_its_own_definition_and_keeps_unknown_names(stage):
    loaded = schema()
    assert loaded["properties"][stage]["properties"]["space"] == {
        "$ref": f"#/definitions/{stage}_space",
        "default": {},
    }
    definition = loaded["definitions"][f"{stage}_space"]
    assert definition["additionalProperties"] == {"$ref": "#/definitions/value"}
    for entry in definition["properties"].values():
        assert entry["$ref"] == "#/definitions/value"
        assert "default" not in entry  # a default here would be written into every config's space


@pytest.mark.parametrize("stage, name", documented_entries())
def test_each_description_gives_the_meaning_what_is_allowed_and_the_default(stage, name):
    description = documented(stage)[name]["description"]
    parts = DESCRIPTION.match(description)
    assert parts, f"{stage}.space.{name}: expected '<meaning>; allowed: <range>; default: <default>'"
    assert parts["meaning"].strip()
    assert parts["allowed"] == TABLE[name].allowed
    default = STAGES[stage].DEFAULTS[name]
    written = yaml.safe_load(parts["default"])
    assert written == default and isinstance(written, bool) == isinstance(default, bool)


@pytest.mark.parametrize("name", pretrain.DEFAULTS)
def test_pretraining_descriptions_name_the_algorithms_that_use_them(name):
    description = documented("pretrain")[name]["description"]
    users = [algorithm for algorithm, learner in ALGORITHMS.items() if name in learner.uses]
    named = USED_BY.search(description)
    if name == "algorithm" or users == list(ALGORITHMS):
        assert named is None
    else:
        assert named, f"pretrain.space.{name}: should say (used by: {', '.join(users)})"
        assert named["names"].split(", ") == users


def test_the_algorithm_description_names_every_algorithm():
    description = documented("pretrain")["algorithm"]["description"]
    for algorithm in ALGORITHMS:
        assert algorithm in description


@pytest.mark.parametrize("stage", STAGES)
def test_an_unknown_name_passes_the_schema_so_the_python_check_can_name_what_is_allowed(stage):
    config = validated({"experiment": "docs", stage: {"space": {"dropuot": 0.5}}})
    assert config[stage]["space"] == {"dropuot": 0.5}
    with pytest.raises(ConfigError, match=f"{stage}.space: unknown hyper-parameter 'dropuot'.*; allowed: "):
        check_config(config)


def test_a_missing_space_is_filled_with_an_empty_one():
    config = validated({"experiment": "docs"})
    for stage in STAGES:
        assert config[stage]["space"] == {}
    check_config(config)


@pytest.mark.parametrize("name", ["learning_rate", "not_a_hyper_parameter"])
def test_a_malformed_distribution_is_still_refused_by_the_schema(name):
    from snakemake.exceptions import WorkflowError

    with pytest.raises(WorkflowError):
        validated({"experiment": "docs", "finetune": {"space": {name: {"type": "gaussian"}}}})
