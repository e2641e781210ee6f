"""Stage specs for tests: the fields a test names, the others neutral."""

from layerwise.stagespec import StageSpec

KIND_OF = {"preprocess": "preprocess", "finetune": "finetune"}  # and layer<l>: pretrain


def stage_spec(**fields) -> StageSpec:
    stage = fields.get("stage", "layer1")
    kind = fields.get("kind", KIND_OF.get(stage, "pretrain"))
    neutral = {
        "stage": stage, "kind": kind, "config_key": kind, "seed": 0, "strategy": {}, "space": {},
        "trials_per_parent": 1, "shards": 1, "parents": 1, "has_parent_stacks": False,
    }  # fmt: skip
    return StageSpec(**{**neutral, **fields})
