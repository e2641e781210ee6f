"""Claims: the shards of a round share its packs, so that a shard that is free takes work a busy one
has not started.

A shard first runs the packs dealt to it (pack p to shard p mod shards), then
takes, from the last pack back, every pack no shard has claimed yet. A claim is a file named after
the pack, holding the shard's number, created whole or not at all (a hard link fails if the name
exists, on NFS too), so each pack runs in exactly one shard. Claims outlive the attempt: a shard run
again after a kill runs every pack it claimed before, and the shards' records together hold every
trial of the round. As no other shard runs a pack a shard takes, any earlier run of its trials is an
earlier attempt's, which the shard marks superseded (shard.py). Which shard ran a trial never changes
its numbers (trials.py).
"""

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from layerwise.stagespec import StageSpec


def claims_folder(parent: Path, round_: int, spec: StageSpec, tracking: str, trials: list) -> Path:
    """The round's claims: a folder of their own for each stage run (tracking.json), spec and trials,
    so that claims of a round planned otherwise are never taken for this one's."""
    planned = [(trial.trial_id, trial.params) for trial in trials]
    text = json.dumps([spec.to_json(), Path(tracking).read_text(), planned], sort_keys=True, default=str)
    return parent / f"r{round_}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


class Claims:
    def __init__(self, folder: Path, shard: int):
        self.folder, self.shard = folder, shard
        folder.mkdir(parents=True, exist_ok=True)

    def path(self, pack: int) -> Path:
        return self.folder / f"p{pack:04d}"

    def owner(self, pack: int) -> int | None:
        path = self.path(pack)
        return int(path.read_text()) if path.exists() else None

    def claim(self, pack: int) -> bool:
        """Whether this shard runs `pack`: it claims it now, or claimed it in an earlier attempt."""
        partial = self.folder / f".p{pack:04d}.{self.shard}.{os.getpid()}"
        partial.write_text(str(self.shard))
        try:
            os.link(partial, self.path(pack))
            return True
        except FileExistsError:
            return self.owner(pack) == self.shard
        finally:
            partial.unlink()

    def unclaimed(self, packs: list[int]) -> list[int]:
        return [pack for pack in packs if not self.path(pack).exists()]  # no need to read whose

    def taken(self, packs: list[int], shards: int) -> Iterator[int]:
        """The packs this shard runs, claimed one at a time as it gets to them: those dealt to it,
        then any left unclaimed, the last first (where the other shards will get last)."""
        dealt = [pack for pack in packs if pack % shards == self.shard]
        seen = set()
        for pack in [*dealt, *reversed(packs)]:
            if pack not in seen and self.claim(pack):
                yield pack
            seen.add(pack)
