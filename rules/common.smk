# Config validation and the helpers that rules use for their inputs and params.
import hashlib
import json
import os
import sys
from pathlib import Path

import layerwise
from layerwise.config import ConfigError, check_config, stage_names, stage_specs
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate


validate(config, "../workflow/schemas/config.schema.yaml")
try:
    check_config(config)
except ConfigError as error:
    raise WorkflowError(f"invalid config: {error}")

RESULTS = f"results/{config['experiment']}"
PYTHON = sys.executable
LAYERS = config["pretrain"]["layers"]
LAST_LAYER = f"layer{LAYERS}"
SPECS = stage_specs(config)
STAGES = stage_names(config)
TRACKING_URI = os.environ.get("MLFLOW_TRACKING_URI") or config["tracking"]["uri"]


def code_digest():
    """Digest of the library's sources: Snakemake does not see src/ edits, so rules take it as a param."""
    sources = sorted(Path(layerwise.__file__).parent.glob("*.py"))
    return hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()[:16]


CODE = code_digest()


def shard_count(stage):
    return SPECS[stage]["shards"]


def shard_records(stage):
    return [f"{RESULTS}/{stage}/shards/{shard}.json" for shard in range(shard_count(stage))]


def previous_stage(stage):
    """The stage whose top-K a stage builds on: layer l-1 for layer l, the last layer for fine-tuning."""
    if stage == "finetune":
        return LAST_LAYER
    layer = int(stage.removeprefix("layer"))
    return f"layer{layer - 1}" if layer > 1 else None


def get_parents(wildcards):
    parent = previous_stage(wildcards.stage)
    return [f"{RESULTS}/{parent}/topk.json"] if parent else []


def get_stage_spec(wildcards):
    return json.dumps(SPECS[wildcards.stage], sort_keys=True)


def get_stage_records(wildcards):
    return shard_records(wildcards.stage)


def all_records():
    return [path for stage in STAGES for path in shard_records(stage)]


def print_summary():
    summary = json.loads(Path(f"{RESULTS}/summary.json").read_text())
    print(
        f"layerwise: {config['experiment']}: test accuracy {summary['test_accuracy']:.4f} "
        f"(valid error {summary['valid_error']:.4f}); see {RESULTS}/summary.json"
    )
