"""A shard: one process that runs packs of a round's trials, sharing data and parent features; the
round's shards take their packs from one another's queues when free (claims.py). What a trial's record
and run go through around its training is in lifecycle.py.

A trial that raises or diverges is recorded as FAILED with its reason; the shard goes on.
"""

import signal
import time
from pathlib import Path

import torch

from layerwise.learn.devices import resolve_device
from layerwise.learn.epochs import Watch
from layerwise.records import TrialRecord, read_shards, write_shard
from layerwise.search.strategies import make_strategy
from layerwise.search.trials import arm_count, pack_of, plan_round
from layerwise.seeding import configure_torch, seed_everything
from layerwise.stages.inputs import StageInputs
from layerwise.stages.kinds import KINDS, PackingKind, stage_space
from layerwise.stagespec import StageSpec
from layerwise.steps.claims import Claims, claims_folder
from layerwise.steps.lifecycle import budgeted, checkpoint_for, close_trial, interrupted, open_trial
from layerwise.track.triallog import TrialLog


def round_trials(spec: StageSpec, round_: int, history: list[TrialRecord], inputs: StageInputs):
    """Every trial of a round, as the stage's strategy proposes it from the earlier rounds' records."""
    strategy = make_strategy(stage_space(spec), spec.seed, spec.stage, spec.strategy)
    return plan_round(spec, strategy, round_, history, len(inputs.valid.y))


class Interrupted(BaseException):
    """SIGTERM (from Snakemake, SLURM or kill): like Ctrl-C, it ends the shard, not just one trial."""


def interrupt(signum, frame):
    raise Interrupted(f"signal {signum}")


def run_one(
    trial,
    spec: StageSpec,
    inputs: StageInputs,
    weights_dir: Path,
    log: TrialLog,
    checkpoints: Path | None = None,
    shard: int = 0,
) -> TrialRecord:
    module = KINDS[spec.kind]
    try:
        resolved, unresolvable = module.resolve(trial, inputs, spec), None
    except Exception as error:  # the trial's failure, recorded with the params it was proposed
        resolved, unresolvable = trial, error
    opened = open_trial(trial, resolved.params, spec, inputs, weights_dir, log, shard)
    checkpoint = checkpoint_for(resolved, spec, checkpoints, weights_dir)
    started = time.perf_counter()
    try:
        if unresolvable:
            raise unresolvable
        seed_everything(resolved.seed)
        generator = torch.Generator().manual_seed(resolved.seed)
        watch = Watch(opened.curves, checkpoint)
        outcome = module.run_trial(budgeted(resolved), inputs, spec, str(opened.weights), generator, watch)
    except Exception as error:
        outcome = error
    except BaseException:
        interrupted([opened], log)
        raise
    if checkpoint:  # the trial ended either way: another attempt would give the same result
        checkpoint.clear()
    return close_trial(opened, resolved, outcome, time.perf_counter() - started, log, checkpoint)


def run_together(
    trials: list, spec: StageSpec, inputs: StageInputs, weights_dir: Path, log: TrialLog, shard: int
) -> list[TrialRecord]:
    """Trials of one pack that share a pack key, trained as one batched model (`run_pack` of the
    stage's kind); each is recorded as if it had run alone, with an equal share of the pack's time."""
    module: PackingKind = KINDS[spec.kind]  # only a packing kind's pack_key puts trials together
    pack = f"{trials[0].stage}-r{trials[0].round}-p{pack_of(trials[0], spec.pack_size):04d}"
    resolved = [module.resolve(trial, inputs, spec) for trial in trials]  # cannot fail: `groups` resolved them
    opened = [
        open_trial(trial, trained.params, spec, inputs, weights_dir, log, shard, pack)
        for trial, trained in zip(trials, resolved, strict=True)
    ]
    trials = resolved
    checkpoints = [checkpoint_for(trial, spec, None, weights_dir) for trial in trials]  # packs: no kill checkpoint
    started = time.perf_counter()
    try:
        weights, listeners = [str(opening.weights) for opening in opened], [opening.curves for opening in opened]
        outcomes = module.run_pack([budgeted(t) for t in trials], inputs, spec, weights, listeners, checkpoints)
    except BaseException:
        interrupted(opened, log)
        raise
    share = (time.perf_counter() - started) / len(trials)
    return [
        close_trial(opening, trial, outcome, share, log, checkpoint)
        for opening, trial, outcome, checkpoint in zip(opened, trials, outcomes, checkpoints, strict=True)
    ]


def pack_key(trial, spec: StageSpec, inputs: StageInputs):
    """What a trial must share with others to train with them (its kind's key, and the epochs it has
    trained at an earlier rung); None: it trains alone (so does one its early stopping has ended)."""
    module = KINDS[spec.kind]
    if spec.pack_size == 1:
        return None
    if trial.continues and trial.state["stopped"]:
        return None
    try:
        key = module.pack_key(module.resolve(trial, inputs, spec), inputs)
    except Exception:  # it fails alone, where its record says why
        return None
    return None if key is None else (key, trial.state["epoch"] if trial.continues else 0)


def groups(trials: list, spec: StageSpec, inputs: StageInputs) -> list[list]:
    """The shard's trials as they run: those of one pack (trials.pack_of) with the same pack key together,
    every other trial alone; in index order of each group's first trial."""
    together, alone = {}, []
    for trial in trials:
        key = pack_key(trial, spec, inputs)
        if key is None:
            alone.append([trial])
        else:
            together.setdefault((pack_of(trial, spec.pack_size), key), []).append(trial)
    return sorted([*together.values(), *alone], key=lambda group: group[0].index)


def run_group(
    group: list,
    spec: StageSpec,
    inputs: StageInputs,
    weights_dir: Path,
    log: TrialLog,
    checkpoints: Path | None = None,
    shard: int = 0,
) -> list[TrialRecord]:
    """The records of a group of `groups`: one trial alone, or the trials of a pack together."""
    log.start([trial.trial_id for trial in group])
    if len(group) == 1:
        return [run_one(group[0], spec, inputs, weights_dir, log, checkpoints, shard)]
    print(f"{len(group)} trials train together in one pack: {', '.join(t.trial_id for t in group)}", flush=True)
    return run_together(group, spec, inputs, weights_dir, log, shard)


def progress_line(record: TrialRecord, position: int, untaken: int, shards: int, elapsed: float) -> str:
    """One line per finished trial, with the time the round's trials no shard has taken yet will
    take at this pace, shared by the round's shards."""
    objective = "-" if record.objective is None else f"{record.objective:.4f}"
    left = elapsed / position * untaken / shards
    return (
        f"[{position}] {record.stage} {record.trial_id}: {record.status} objective {objective} "
        f"({record.duration_s:.1f}s){' ' + record.reason if record.reason else ''}; "
        f"{untaken} trials of the round not taken yet, about {left:.0f}s left"
    )


def run_shard(
    spec: StageSpec,
    round_: int,
    shard: int,
    train: str,
    valid: str,
    parents: str | None,
    history: list[str],
    tracking: str,
    records: str,
    weights_dir: str,
    threads: int,
    checkpoints: str | None = None,
    device: str = "cpu",
    unlabelled: str | None = None,
) -> None:
    """Runs the packs of one round's trials this shard takes (claims.py; the round's shards keep their
    claims in `claims/` beside their `records`) on `device` (auto, cpu or cuda); `history` holds the
    shard records of the earlier rounds, `checkpoints` the folder where long trials keep their
    training state (see checkpoint.py), `unlabelled` the rows without a label (for the stages that
    learn without labels)."""
    configure_torch(threads)
    on = resolve_device(device)
    signal.signal(signal.SIGTERM, interrupt)
    inputs = StageInputs(train, valid, parents, on, unlabelled)
    planned = round_trials(spec, round_, read_shards(history), inputs)
    packs = {}
    for trial in planned:
        packs.setdefault(pack_of(trial, spec.pack_size), []).append(trial)
    claims = Claims(claims_folder(Path(records).parent / "claims", round_, spec, tracking, planned), shard)
    per_arm = [sum(trial.arm == arm for trial in planned) for arm in range(arm_count(spec))]
    print(f"{len(planned)} trials in {len(packs)} packs in the round, on {on}; per arm: {per_arm}", flush=True)
    begun = {trial.trial_id for trial in planned if not trial.continues}  # a continued trial's run is its own
    log = TrialLog.of_shard(tracking, records, len(planned), spec.shards, begun)
    directory = Path(weights_dir)
    directory.mkdir(parents=True, exist_ok=True)
    results, started, checkpoints = [], time.perf_counter(), Path(checkpoints) if checkpoints else None
    for pack in claims.taken(list(packs), spec.shards):  # no other shard runs it: earlier runs are stale
        superseded = log.take([trial.trial_id for trial in packs[pack]])
        if superseded:
            print(f"{superseded} runs of an earlier, incomplete attempt of pack {pack} marked superseded", flush=True)
        for group in groups(packs[pack], spec, inputs):
            ended = run_group(group, spec, inputs, directory, log, checkpoints, shard)
            untaken = sum(len(packs[other]) for other in claims.unclaimed(list(packs)))
            for record in ended:
                results.append(record)
                line = progress_line(record, len(results), untaken, spec.shards, time.perf_counter() - started)
                print(line, flush=True)
    write_shard(records, spec.stage, round_, shard, results)
