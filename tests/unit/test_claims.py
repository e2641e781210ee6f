"""Shards sharing a round's packs: each pack runs in exactly one shard, a free shard takes what a
busy one has not started, and a shard run again runs the packs it claimed before."""

import multiprocessing
from dataclasses import replace

from layerwise.records import TrialRecord
from layerwise.steps.claims import Claims, claims_folder
from support.specs import stage_spec

PACKS = list(range(6))


def test_a_shard_alone_runs_its_own_packs_then_every_other_from_the_last(tmp_path):
    assert list(Claims(tmp_path, 0).taken(PACKS, 2)) == [0, 2, 4, 5, 3, 1]
    assert list(Claims(tmp_path, 1).taken(PACKS, 2)) == []  # nothing left when it starts


def test_shards_at_the_same_pace_run_what_is_dealt_to_them(tmp_path):
    first, second = Claims(tmp_path, 0).taken(PACKS, 2), Claims(tmp_path, 1).taken(PACKS, 2)
    taken = {0: [], 1: []}
    for _ in range(3):  # each takes its next pack in turn
        taken[0].append(next(first))
        taken[1].append(next(second))
    assert taken == {0: [0, 2, 4], 1: [1, 3, 5]}
    assert list(first) == list(second) == []


def test_a_free_shard_takes_the_packs_a_busy_one_has_not_started(tmp_path):
    busy, free = Claims(tmp_path, 0).taken(PACKS, 2), Claims(tmp_path, 1).taken(PACKS, 2)
    assert next(busy) == 0  # and trains it all along
    assert list(free) == [1, 3, 5, 4, 2]
    assert list(busy) == []


def test_a_shard_run_again_runs_exactly_the_packs_it_claimed_before(tmp_path):
    killed = Claims(tmp_path, 0).taken(PACKS, 2)
    assert [next(killed), next(killed)] == [0, 2]  # claimed, then the shard was killed
    assert list(Claims(tmp_path, 1).taken(PACKS, 2)) == [1, 3, 5, 4]
    again = Claims(tmp_path, 0)
    assert [again.owner(pack) for pack in PACKS] == [0, 1, 0, 1, 1, 1]
    assert list(again.taken(PACKS, 2)) == [0, 2]
    assert again.unclaimed(PACKS) == []


def take_all(folder, shard, shards, queue):
    queue.put((shard, list(Claims(folder, shard).taken(list(range(200)), shards))))


def test_shards_claiming_at_once_in_processes_never_share_a_pack(tmp_path):
    context, shards = multiprocessing.get_context("spawn"), 4
    queue = context.Queue()
    workers = [context.Process(target=take_all, args=(tmp_path, shard, shards, queue)) for shard in range(shards)]
    for worker in workers:
        worker.start()
    taken = dict(queue.get(timeout=60) for _ in workers)
    for worker in workers:
        worker.join()
    every = [pack for packs in taken.values() for pack in packs]
    assert sorted(every) == list(range(200))  # each pack exactly once
    owners = Claims(tmp_path, 0)
    assert all(owners.owner(pack) == shard for shard, packs in taken.items() for pack in packs)


def test_a_round_planned_otherwise_or_in_another_stage_run_has_claims_of_its_own(tmp_path):
    tracking = tmp_path / "tracking.json"
    tracking.write_text('{"run_id": "a"}')
    trials = [TrialRecord.planned("layer1", 0, 0, 0, None, 1, {"learning_rate": 0.1})]
    spec = stage_spec(stage="layer1", shards=2)
    folder = claims_folder(tmp_path, 0, spec, str(tracking), trials)
    assert folder == claims_folder(tmp_path, 0, spec, str(tracking), trials)
    others = [
        claims_folder(tmp_path, 1, spec, str(tracking), trials),
        claims_folder(tmp_path, 0, replace(spec, shards=3), str(tracking), trials),
        claims_folder(
            tmp_path, 0, spec, str(tracking), [TrialRecord.planned("layer1", 0, 0, 0, None, 1, {"learning_rate": 0.2})]
        ),
    ]
    tracking.write_text('{"run_id": "b"}')  # the stage's MLflow run was created again
    others.append(claims_folder(tmp_path, 0, spec, str(tracking), trials))
    assert len({folder, *others}) == 5
