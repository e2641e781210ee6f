"""The kinds of stage, the module that runs one trial of each, and a stage's search space."""

from layerwise.search.space import SearchSpace
from layerwise.stages import finetune, preprocess, pretrain

KINDS = {"preprocess": preprocess, "pretrain": pretrain, "finetune": finetune}


def stage_space(spec: dict) -> SearchSpace:
    return SearchSpace(spec["space"], KINDS[spec["kind"]].DEFAULTS, where=f"{spec['config_key']}.space")
