"""The stages a config defines, and each stage's spec: what the DAG and the jobs need, read without
importing torch or scikit-learn, so that Snakemake reads the workflow quickly (cluster jobs read it too)."""

from layerwise.search.halving import Halving
from layerwise.stagespec import StageSpec

# What `evaluate.report` may name as the final model: the candidate chosen on validation evidence
# (stages/choice.py), the search's best network, the seed study's first member (a refit on train + valid
# by default), or all its members, class probabilities averaged.
REPORTS = ("auto", "single", "member", "ensemble")
SPLITS = ("train", "valid", "test")  # the data's splits; only evaluation opens the test split


def stage_names(config: dict) -> list[str]:
    return ["preprocess"] + [f"layer{layer}" for layer in range(1, config["pretrain"]["layers"] + 1)] + ["finetune"]


def stage_rounds(config: dict) -> dict:
    """How many rounds each stage runs: the DAG's concern only, so it stays out of the stage specs. With
    halving, each of the strategy's rounds is a bracket of successive halving, each rung a round."""
    return {
        stage: Halving.of(spec).rounds(config[spec.config_key]["strategy"]["rounds"])
        for stage, spec in stage_specs(config).items()
    }


def strategy_settings(stage: dict) -> dict:
    """The strategy's settings without the number of rounds: raising `rounds` later leaves the
    earlier rounds' jobs (their params) untouched, so Snakemake runs only the new rounds."""
    return {key: value for key, value in stage["strategy"].items() if key != "rounds"}


def stage_specs(config: dict) -> dict[str, StageSpec]:
    """One spec per stage: everything a shard or a selection job needs, and nothing from other stages."""
    preprocessing, pretraining, tuning = config["preprocess"], config["pretrain"], config["finetune"]
    specs = {
        "preprocess": StageSpec(
            stage="preprocess",
            kind="preprocess",
            config_key="preprocess",
            seed=config["seed"],
            strategy=strategy_settings(preprocessing),
            parents=1,
            has_parent_stacks=False,
            trials_per_parent=preprocessing["trials"],
            shards=preprocessing["shards"],
            space=preprocessing["space"],
            readout=pretraining["readout"],  # the same read-out that scores a layer
            readout_ridge=pretraining["readout_ridge"],
        )
    }
    for layer in range(1, pretraining["layers"] + 1):
        specs[f"layer{layer}"] = StageSpec(
            stage=f"layer{layer}",
            kind="pretrain",
            config_key="pretrain",
            seed=config["seed"],
            strategy=strategy_settings(pretraining),
            parents=1 if layer == 1 else pretraining["top_k"],
            has_parent_stacks=layer > 1,
            trials_per_parent=pretraining["trials_per_parent"],
            top_k=pretraining["top_k"],
            shards=pretraining["shards"],
            pack_size=pretraining["pack_size"],
            space=pretraining["space"],
            readout=pretraining["readout"],
            readout_ridge=pretraining["readout_ridge"],
            tie_hidden_units=pretraining["tie_hidden_units"],
            distinct_parents=pretraining["distinct_parents"],
        )
    specs["finetune"] = StageSpec(
        stage="finetune",
        kind="finetune",
        config_key="finetune",
        seed=config["seed"],
        strategy=strategy_settings(tuning),
        parents=pretraining["top_k"] if pretraining["layers"] else 0,  # 0 layers: only the no-pretraining arm
        has_parent_stacks=bool(pretraining["layers"]),
        no_pretraining_arm=tuning["no_pretraining_arm"],
        allocation=tuning["allocation"],
        trials_per_parent=tuning["trials_per_parent"],
        shards=tuning["shards"],
        pack_size=tuning["pack_size"],
        space=tuning["space"],
        patience=tuning["patience"],
        checkpoint_after_s=tuning["checkpoint_after_s"],
        halving=tuning["halving"],
    )
    return specs
