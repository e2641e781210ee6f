"""Selection after a stage: drop failed trials, rank by objective, keep the top K with their lineage.

Every round of the stage competes; ties are broken by validation loss where fine-tuning has one,
then by round and trial index (`trials.rank_key`), so the ranking never depends on which shard
finished first.
"""

import tempfile
from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch

from layerwise import stagespec
from layerwise.config.topology import selection_file
from layerwise.errors import UserError
from layerwise.learn import stack as stacks
from layerwise.present.figures import draw_stage, top_table
from layerwise.records import TrialRecord, read_shards
from layerwise.search.border import COLUMNS as BORDER_COLUMNS
from layerwise.search.border import border_warnings, describe
from layerwise.search.halving import Halving, settle
from layerwise.search.importance import main_effects
from layerwise.search.trials import rank_key
from layerwise.selections import Chosen, Kept, Selection, Step, read_selection, write_selection
from layerwise.stages.kinds import stage_space
from layerwise.stagespec import StageSpec
from layerwise.status import Status
from layerwise.track.triallog import TrialLog


class StageFailed(UserError, RuntimeError):
    """No trial of a stage finished: there is nothing to select."""


def ranked(records: list[TrialRecord], stage: str) -> list[TrialRecord]:
    """The finished trials, best first; a trial halving pruned never competes with those that trained
    their full budget."""
    finished = [record for record in records if record.finished]
    if not finished:
        reasons = sorted({record.reason for record in records})
        raise StageFailed(f"every trial of stage {stage} failed ({len(records)} trials); reasons: {'; '.join(reasons)}")
    return sorted(finished, key=rank_key)


def parent_entries(parents_path: str | None) -> tuple[Kept, ...]:
    return read_selection(parents_path).entries if parents_path else ()


def top_k(order: list[TrialRecord], k: int, distinct_parents: bool) -> list[TrialRecord]:
    """The K best of `order` (best first); with `distinct_parents`, the best trial of each parent stack
    comes first, so that no two kept stacks share every layer but the last while another parent has a
    finished trial; the rest of K is filled by rank. The result keeps the order of `order`."""
    if not distinct_parents:
        return order[:k]
    chosen, parents = [], set()
    for record in order:
        if record.parent_rank not in parents and len(chosen) < k:
            chosen.append(record)
            parents.add(record.parent_rank)
    chosen += [record for record in order if record not in chosen][: k - len(chosen)]
    return sorted(chosen, key=lambda record: order.index(record))


def kept_first(spec: StageSpec, order: list[TrialRecord]) -> list[TrialRecord]:
    """A layer's ranking with the K stacks it keeps (`top_k`) first: what its selection saves, and its
    figures, top table and border report show."""
    kept = top_k(order, spec.top_k, spec.distinct_parents)
    return kept + [record for record in order if record not in kept]


def select_pretrain(spec: StageSpec, order: list[TrialRecord], parents_path: str | None, out_dir: str) -> Selection:
    """The top-K stacks, each saved whole (parent stack + this layer) with its lineage; `order` holds
    the finished trials, the kept ones first (`kept_first`)."""
    parents = parent_entries(parents_path)
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    entries = []
    for rank, record in enumerate(order[: spec.top_k]):
        parent = parents[record.parent_rank] if record.parent_rank is not None else None
        layer = torch.load(record.weights, weights_only=True)["layer"]
        stack_path = directory / f"rank-{rank}.pt"
        stacks.save(stacks.extend(stacks.load(parent.stack if parent else None), layer), str(stack_path))
        lineage = (parent.lineage if parent else ()) + (Step.of(record),)
        entries.append(
            Kept(rank, record.trial_id, str(stack_path), record.index, record.objective, record.params,
                 record.parent_trial, lineage)
        )  # fmt: skip
    return Selection(spec.stage, entries=tuple(entries))


def select_finetune(spec: StageSpec, order: list[TrialRecord], parents_path: str | None) -> Selection:
    """The best network overall, and the best with and without pretraining for the comparison."""
    parents = parent_entries(parents_path)

    def chosen(record: TrialRecord | None) -> Chosen | None:
        if record is None:
            return None
        lineage = parents[record.parent_rank].lineage if record.parent_rank is not None else ()
        return Chosen(record, lineage + (Step.of(record),))

    pretrained = next((r for r in order if r.parent_rank is not None), None)
    no_pretraining = next((r for r in order if r.parent_rank is None), None)
    best_per_parent = {}
    for record in order:
        best_per_parent.setdefault(record.parent_rank, record)
    return Selection(
        spec.stage,
        best=chosen(order[0]),
        best_pretrained=chosen(pretrained),
        best_no_pretraining=chosen(no_pretraining),
        # how many finished trials each side had: the race (search/arms.py) moves them to the leader
        trials_pretrained=sum(r.parent_rank is not None for r in order),
        trials_no_pretraining=sum(r.parent_rank is None for r in order),
        best_per_parent=tuple(
            {"trial_id": record.trial_id, "objective": record.objective, "parent_trial": record.parent_trial}
            for record in best_per_parent.values()
        ),
    )


def select_preprocess(spec: StageSpec, order: list[TrialRecord]) -> Selection:
    """The best pipeline, and every candidate's score for comparison."""
    best = Chosen(order[0], (Step.of(order[0]),))
    return Selection(spec.stage, best=best, ranking=tuple(Step.of(record) for record in order))


def halving_summary(records: list[TrialRecord]) -> dict:
    """What successive halving cut: the trials it pruned, and the epochs the stage's trials trained
    against those their max_epochs allow (what the same trials would be allowed without halving)."""
    return {
        "pruned": sum(record.status == Status.PRUNED for record in records),
        "epochs_trained": sum(len(record.curves.get("train_loss", [])) for record in records),
        "epochs_allowed": sum(record.params["max_epochs"] for record in records),
    }


def settled_and_ranked(spec: StageSpec, record_paths: list[str]) -> tuple[list[TrialRecord], list[TrialRecord]]:
    """A stage's records (one per trial) and its finished trials in selection order (a layer's kept first)."""
    records = settle(read_shards(record_paths))
    order = ranked(records, spec.stage)
    return records, kept_first(spec, order) if spec.kind == "pretrain" else order


def draw_again(stage_folder: Path, figures_dir: str) -> None:
    """A stage's figures drawn again by this code from its records and selection file alone."""
    spec = stagespec.read(str(stage_folder / "spec.json"))
    records, order = settled_and_ranked(spec, [str(path) for path in (stage_folder / "shards").glob("r*-*.json")])
    selected = read_selection(selection_file(str(stage_folder.parent), spec.stage))
    effects = dict(sorted(selected.importance.items(), key=lambda item: -item[1]))  # the file sorts by name
    draw_stage(spec, records, order, stage_space(spec), list(selected.border), effects, figures_dir)


def select_stage(
    spec: StageSpec,
    record_paths: list[str],
    parents_path: str | None,
    tracking: str,
    out_json: str,
    out_dir: str | None,
    figures_dir: str,
    table_path: str,
) -> None:
    """Ranks the stage's trials, writes its selection, figures and top table, and closes its MLflow run;
    first logs again the trials whose tracking failed in their shard."""
    records, order = settled_and_ranked(spec, record_paths)
    log = TrialLog.of_stage(tracking)
    unrepaired = log.settle(records)
    if spec.kind == "pretrain":
        selected = select_pretrain(spec, order, parents_path, out_dir)
    elif spec.kind == "preprocess":
        selected = select_preprocess(spec, order)
    else:
        selected = select_finetune(spec, order, parents_path)
    best = order[0].objective
    failed = [
        {"trial_id": record.trial_id, "reason": record.reason, "params": record.params}  # a grid's missing points
        for record in records
        if record.status == Status.FAILED
    ]
    space = stage_space(spec)
    warnings = border_warnings(space, order, spec.top_k)
    extended = sorted({step for record in records for step in record.extended})
    selected = replace(
        selected,
        rounds=len({record.round for record in records}),
        best_trial=order[0].trial_id,
        best_objective=best,
        n_trials=len(records),
        n_failed=len(failed),
        failed=tuple(failed),
        border=tuple(warnings),
        extended=tuple(extended),
        tracking_unrepaired=tuple(unrepaired),
        importance=main_effects(records, space),
        halving=halving_summary(records) if Halving.of(spec).on else None,
    )
    write_selection(out_json, selected)
    draw_stage(spec, records, order, space, warnings, selected.importance, figures_dir)
    top_table(spec, order, table_path)
    with tempfile.TemporaryDirectory() as folder:
        table = Path(folder) / "border.csv"
        pd.DataFrame(warnings, columns=BORDER_COLUMNS).to_csv(table, index=False)
        log.close_stage(
            metrics={"best_objective": best, "n_trials": len(records), "n_failed": len(failed)},
            border=describe(warnings),
            extended=extended,
            artifacts=[out_json, str(table), table_path, figures_dir],
        )
    if selected.halving:
        cut = selected.halving
        print(
            f"halving pruned {cut['pruned']} trials: {cut['epochs_trained']} of {cut['epochs_allowed']} epochs trained"
        )
    print(
        f"{spec.stage}: best objective {best:.4f}; {len(failed)} of {len(records)} trials failed; "
        f"best values on the border: {describe(warnings)}",
        flush=True,
    )
