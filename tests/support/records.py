"""Trial records as a test needs them: what the test gives, the rest as a shard would write it."""

from layerwise.records import TrialRecord
from layerwise.status import Status


def trial_record(**given) -> TrialRecord:
    """A record of `given` fields; its id from its stage, round and index, its proposal its params, and
    FINISHED unless the test says otherwise."""
    values = {"stage": "finetune", "round": 0, "index": 0, "status": Status.FINISHED, **given}
    values.setdefault("trial_id", f"{values['stage']}-r{values['round']}-t{values['index']:04d}")
    values.setdefault("proposed", values.get("params", {}))
    return TrialRecord(**{**values, "status": Status(values["status"])})
