"""What a shard loads once and shares between its trials: the data and the parent stacks' features."""

from dataclasses import dataclass
from functools import cached_property

import torch

from layerwise.data.sets import read_split
from layerwise.learn import stack as stacks
from layerwise.selections import Kept, read_selection


class MissingParent(RuntimeError):
    """The previous stage kept fewer survivors than this trial's parent rank needs."""


@dataclass
class Tensors:
    x: torch.Tensor
    y: torch.Tensor

    @classmethod
    def joined(cls, *splits: "Tensors") -> "Tensors":
        return cls(torch.cat([split.x for split in splits]), torch.cat([split.y for split in splits]))

    def take(self, rows) -> "Tensors":
        """The rows at these positions (a NumPy array of indices)."""
        index = torch.as_tensor(rows, device=self.y.device)
        return Tensors(self.x[index], self.y[index])


CPU = torch.device("cpu")


def load_tensors(path: str, device: torch.device = CPU) -> Tensors:
    split = read_split(path)
    return Tensors(torch.from_numpy(split.x).to(device), torch.from_numpy(split.y).to(device))


class StageInputs:
    """Train/valid tensors on the training device and, per parent rank, its stack and the features it
    computes (cached); the unlabelled rows, for the stages that learn without labels, read when asked."""

    def __init__(
        self, train_path: str, valid_path: str, parents_path: str | None, device=CPU, unlabelled_path: str | None = None
    ):
        self.device = torch.device(device)
        self.train = load_tensors(train_path, self.device)
        self.valid = load_tensors(valid_path, self.device)
        self.n_classes = int(self.train.y.max()) + 1
        self.parents = read_selection(parents_path).entries if parents_path else ()
        self.unlabelled_path = unlabelled_path
        self._features, self._unsupervised = {}, {}

    @cached_property
    def unlabelled(self) -> torch.Tensor:
        """The features of the rows without a label (none without a file)."""
        if self.unlabelled_path is None:
            return self.train.x[:0]
        return load_tensors(self.unlabelled_path, self.device).x

    def parent(self, rank: int | None) -> Kept | None:
        """The top-K entry of the parent stack, or None when the trial has none."""
        if rank is None:
            return None
        if rank >= len(self.parents):
            raise MissingParent(f"parent rank {rank} does not exist: the previous stage kept {len(self.parents)}")
        return self.parents[rank]

    def stack(self, rank: int | None) -> dict:
        entry = self.parent(rank)
        return stacks.load(entry.stack) if entry else stacks.EMPTY

    def features(self, rank: int | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(train, valid) features of the parent stack, computed once per shard."""
        if rank not in self._features:
            stack = self.stack(rank)
            self._features[rank] = (stacks.encode(stack, self.train.x), stacks.encode(stack, self.valid.x))
        return self._features[rank]

    def unsupervised(self, rank: int | None) -> torch.Tensor:
        """What a layer learns from without labels, through the parent stack: the training rows, then the
        unlabelled ones (the training features themselves where there are none), computed once per shard."""
        if rank not in self._unsupervised:
            train = self.features(rank)[0]
            more = stacks.encode(self.stack(rank), self.unlabelled) if len(self.unlabelled) else None
            self._unsupervised[rank] = train if more is None else torch.cat([train, more])
        return self._unsupervised[rank]
