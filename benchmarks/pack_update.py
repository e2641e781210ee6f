"""One update of a pack of auto-encoders, two ways, in one process: the pack's own SGD step on the
stacked weights (packs/members.sgd_update: one rate and one momentum per trial, each a column), against
torch.optim.SGD over the same trials, each trial's weights parameters of their own (stacked for the
batched matmuls at every update) and a parameter group per trial and kind (weights, biases).

Both compute the same update (tied-weight auto-encoders, squared error, momentum); the figure is the
CPU time per update, the two ways alternating so that the machine's noise falls on both alike.

    .venv/bin/python benchmarks/pack_update.py [--trials 16] [--inputs 40] [--hidden 256] [--batch 32]
"""

import argparse
import statistics
import time

import torch

from layerwise.packs.members import column, nesterov_rows, sgd_update
from layerwise.seeding import configure_torch


class Stacked:
    """The pack's way: one tensor per kind of parameter, one row per trial."""

    def __init__(self, weights, biases, decoder_biases, rates, momenta):
        self.tensors = {"weight": weights.clone(), "bias": biases.clone(), "decoder_bias": decoder_biases.clone()}
        for name in list(self.tensors):
            self.tensors[f"{name}_velocity"] = torch.zeros_like(self.tensors[name])
        self.tensors["momentum"], self.tensors["nesterov"] = column(momenta, "cpu"), column([False] * len(rates), "cpu")
        self.nesterov_rows, self.rates = nesterov_rows(self.tensors["nesterov"]), column(rates, "cpu")

    def __getitem__(self, name):
        return self.tensors[name]

    def step(self, x):
        names = ("weight", "bias", "decoder_bias")
        for name in names:
            self[name].requires_grad_()
        loss = reconstruction(self["weight"], self["bias"], self["decoder_bias"], x)
        gradients = torch.autograd.grad(loss, [self[name] for name in names])
        for name, gradient in zip(names, gradients, strict=True):
            self[name].requires_grad_(False)
            sgd_update(self, name, gradient, self.rates)


class Grouped:
    """torch.optim.SGD: each trial's weights parameters of their own, a parameter group per trial and kind."""

    def __init__(self, weights, biases, decoder_biases, rates, momenta):
        self.weights = [w.clone().requires_grad_() for w in weights]
        self.biases = [b.clone().requires_grad_() for b in biases]
        self.decoder_biases = [d.clone().requires_grad_() for d in decoder_biases]
        groups = []
        for trial, (rate, momentum) in enumerate(zip(rates, momenta, strict=True)):
            groups.append({"params": [self.weights[trial]], "lr": rate, "momentum": momentum})
            groups.append(
                {"params": [self.biases[trial], self.decoder_biases[trial]], "lr": rate, "momentum": momentum}
            )
        self.optimizer = torch.optim.SGD(groups, lr=rates[0])

    def step(self, x):
        self.optimizer.zero_grad(set_to_none=True)
        weights, biases, decoder = (torch.stack(p) for p in (self.weights, self.biases, self.decoder_biases))
        reconstruction(weights, biases, decoder, x).backward()
        self.optimizer.step()


def reconstruction(weight, bias, decoder_bias, x):
    hidden = torch.tanh(torch.baddbmm(bias, x, weight.transpose(1, 2)))
    return (torch.baddbmm(decoder_bias, hidden, weight) - x).pow(2).sum()


def cpu_ms_per_update(pack, x, updates: int) -> float:
    started = time.process_time()
    for _ in range(updates):
        pack.step(x)
    return (time.process_time() - started) / updates * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--inputs", type=int, default=40)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--updates", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    configure_torch(args.threads)
    generator = torch.Generator().manual_seed(0)
    shapes = ((args.hidden, args.inputs), (1, args.hidden), (1, args.inputs))
    weights, biases, decoder = (0.1 * torch.randn(args.trials, *shape, generator=generator) for shape in shapes)
    rates = (0.01 + 0.09 * torch.rand(args.trials, generator=generator)).tolist()
    momenta = (0.5 + 0.4 * torch.rand(args.trials, generator=generator)).tolist()
    x = torch.randn(args.trials, args.batch, args.inputs, generator=generator)
    packs = {"pack's own step": Stacked, "torch.optim.SGD, a group per trial": Grouped}
    built = {name: kind(weights, biases, decoder, rates, momenta) for name, kind in packs.items()}
    samples = {name: [] for name in packs}
    for _ in range(args.repeats):
        for name, pack in built.items():
            cpu_ms_per_update(pack, x, max(1, args.updates // 10))  # warm-up
            samples[name].append(cpu_ms_per_update(pack, x, args.updates))
    own = statistics.median(samples["pack's own step"])
    print(f"{args.trials} trials of {args.inputs}-{args.hidden} auto-encoders, batch {args.batch}, "
          f"{args.threads} thread(s); median of {args.repeats}\n")  # fmt: skip
    print("| update | CPU ms per update | relative |\n|---|---|---|")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.3f} | {median / own:.2f} |")


if __name__ == "__main__":
    main()
