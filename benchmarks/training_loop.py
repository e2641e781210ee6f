"""The pipeline's training loop against a minimal hand-written PyTorch loop, in one process.

Both train the same network (MNIST-1D-sized inputs, two hidden layers) with the same batch size and
SGD with momentum, in-memory tensors, a fresh random order each epoch and the validation error after
each epoch (what early stopping needs). The pipeline's loop is `training.train_classifier`, as a
fine-tuning trial calls it. Runs alternate between the two loops, so that the machine's noise falls
on both alike; the figure is the ratio of their samples per second.

    .venv/bin/python benchmarks/training_loop.py [--repeats 7] [--epochs 20] [--threads 1]
"""

import argparse
import statistics
import time

import torch
from torch import nn

from layerwise.learn.models import build_classifier
from layerwise.learn.optim import layer_lr_scales
from layerwise.learn.training import train_classifier
from layerwise.seeding import configure_torch
from layerwise.stages.finetune import DEFAULTS
from layerwise.stages.inputs import Tensors

N_TRAIN, N_VALID, N_IN, N_CLASSES = 3200, 800, 40, 10  # MNIST-1D's split sizes
HIDDEN = (256, 256)
BATCH_SIZE = 32


def data(seed: int = 0) -> tuple[Tensors, Tensors]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(N_TRAIN + N_VALID, N_IN, generator=generator)
    y = torch.randint(0, N_CLASSES, (N_TRAIN + N_VALID,), generator=generator)
    return Tensors(x[:N_TRAIN], y[:N_TRAIN]), Tensors(x[N_TRAIN:], y[N_TRAIN:])


def network() -> nn.Sequential:
    torch.manual_seed(0)
    n_in, layers = N_IN, []
    for width in HIDDEN:
        layers.append({"n_in": n_in, "n_hidden": width, "activation": "sigmoid"})
        n_in = width
    return build_classifier({"n_in": N_IN, "layers": layers, "n_classes": N_CLASSES, "dropout": 0.0})


def bare_loop(train: Tensors, valid: Tensors, epochs: int) -> None:
    model = network()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    generator = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(train.x), generator=generator)
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            optimizer.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(train.x[batch]), train.y[batch])
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            (model(valid.x).argmax(1) != valid.y).float().mean().item()


def pipeline_loop(train: Tensors, valid: Tensors, epochs: int) -> None:
    params = {**DEFAULTS, "learning_rate": 0.01, "momentum": 0.9, "batch_size": BATCH_SIZE, "max_epochs": epochs}
    model = network()
    scales = layer_lr_scales(len(HIDDEN) + 1, params["layer_lr_decay"])
    train_classifier(model, train, valid, params, 0, torch.Generator().manual_seed(0), scales)


def samples_per_second(loop, train: Tensors, valid: Tensors, epochs: int) -> float:
    started = time.perf_counter()
    loop(train, valid, epochs)
    return epochs * len(train.x) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    configure_torch(args.threads)
    train, valid = data()
    loops = {"bare": bare_loop, "pipeline": pipeline_loop}
    rates = {name: [] for name in loops}
    samples_per_second(bare_loop, train, valid, 1)  # warm-up
    for _ in range(args.repeats):
        for name, loop in loops.items():
            rates[name].append(samples_per_second(loop, train, valid, args.epochs))
    ratios = [mine / bare for mine, bare in zip(rates["pipeline"], rates["bare"], strict=True)]
    print(f"| loop | samples/s (median of {args.repeats}) |")
    print("|---|---|")
    for name, values in rates.items():
        print(f"| {name} | {statistics.median(values):,.0f} |")
    print(f"\npipeline / bare: median {statistics.median(ratios):.3f} (runs: {', '.join(f'{r:.3f}' for r in ratios)})")


if __name__ == "__main__":
    main()
