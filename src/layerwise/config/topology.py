"""The stages as a graph, and where each stage's files lie: which stage a stage builds on, which data
it searches, where its shards' records and its selection are. What the workflow's rules ask of a stage,
answered without torch (Snakemake reads it for every job)."""

from layerwise.stagespec import StageSpec


def previous_stage(stage: str, layers: int) -> str | None:
    """The stage whose top-K a stage builds on: layer l-1 for layer l, the last layer for fine-tuning;
    none for preprocessing, the first layer, and fine-tuning without pretrained layers."""
    if stage == "preprocess":
        return None
    if stage == "finetune":
        return f"layer{layers}" if layers else None
    layer = int(stage.removeprefix("layer"))
    return f"layer{layer - 1}" if layer > 1 else None


def stage_data(results: str, stage: str) -> dict[str, str]:
    """The splits a stage searches on: preprocessing the raw ones, every later stage the preprocessed ones;
    the unlabelled rows beside them (where no label is needed: preprocessing and pretraining)."""
    folder = "data/raw" if stage == "preprocess" else "data"
    return {split: f"{results}/{folder}/{split}.npz" for split in ("train", "valid", "unlabelled")}


def selection_file(results: str, stage: str) -> str:
    """What a stage's selection writes: a layer's top K (topk.json), or the one it selects (selected.json)."""
    return f"{results}/{stage}/{'topk' if stage.startswith('layer') else 'selected'}.json"


def parents_file(results: str, stage: str, layers: int) -> list[str]:
    """The selection a stage builds on, if any (a list, as rules take inputs)."""
    parent = previous_stage(stage, layers)
    return [selection_file(results, parent)] if parent else []


def round_records(results: str, spec: StageSpec, round_: int) -> list[str]:
    """The record files of a round's shards."""
    return [f"{results}/{spec.stage}/shards/r{round_}-{shard}.json" for shard in range(spec.shards)]


def stage_records(results: str, spec: StageSpec, rounds: int, before: int | None = None) -> list[str]:
    """The record files of a stage's rounds (those before round `before`, when given)."""
    last = rounds if before is None else before
    return [path for round_ in range(last) for path in round_records(results, spec, round_)]
