"""Pretraining throughput of large layers, as a fraction of the machine's fp32 matmul peak.

The classic SdA shape, 784-1000-1000-1000, on synthetic MNIST-sized inputs: each layer is a
denoising auto-encoder with tied weights, trained for one epoch by the pipeline's own learner
(`learners.DenoisingAutoencoderLayer`, as a pretraining trial runs it) on the features of the layers
below. The work of an n_in-n_hidden layer is counted in matmul floating point operations: 12 n_in n_hidden
per training example and update (encoder and decoder, 2 n_in n_hidden each, and twice that for their
gradients), 4 n_in n_hidden per validation example (the epoch's validation loss), and 4 n_in n_hidden
per example of both splits for the reconstruction errors a trial reports at the end. The peak is
`torch.mm` on 2048 x 2048 fp32 matrices, measured in the same process.

    .venv/bin/python benchmarks/large_layers.py [--rows 20000] [--batch-sizes 32 128 512] [--threads 2]
"""

import argparse
import time

import torch

from layerwise.learn.learners import learner_for
from layerwise.seeding import configure_torch
from layerwise.stages.pretrain import DEFAULTS

SHAPE = (784, 1000, 1000, 1000)


def matmul_peak(size: int = 2048, repeats: int = 10) -> float:
    """GFLOP/s of torch.mm on size x size fp32 matrices (best of `repeats`)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


def pretrain_stack(x_train: torch.Tensor, x_valid: torch.Tensor, batch_size: int) -> tuple[float, float]:
    """(seconds, floating point operations) of one epoch of each layer of the stack."""
    seconds = flops = 0.0
    generator = torch.Generator().manual_seed(0)
    for n_in, n_hidden in zip(SHAPE[:-1], SHAPE[1:], strict=True):
        params = {**DEFAULTS, "hidden_units": n_hidden, "epochs": 1, "batch_size": batch_size, "corruption": 0.2}
        learner = learner_for(params)
        started = time.perf_counter()
        learner.fit(x_train, x_valid, generator)
        seconds += time.perf_counter() - started
        flops += (16 * len(x_train) + 8 * len(x_valid)) * n_in * n_hidden
        x_train, x_valid = learner.transform(x_train), learner.transform(x_valid)
    return seconds, flops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000, help="training rows (MNIST has 60,000)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128, 512])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    configure_torch(args.threads)
    torch.manual_seed(0)
    x = torch.rand(args.rows + args.rows // 6, SHAPE[0])
    x_train, x_valid = x[: args.rows], x[args.rows :]
    peak = matmul_peak()
    print(f"torch.mm 2048 x 2048 fp32 on {args.threads} threads: {peak:.1f} GFLOP/s")
    print("| batch size | seconds per epoch of the stack | GFLOP/s | fraction of the peak |")
    print("|---|---|---|---|")
    for batch_size in args.batch_sizes:
        seconds, flops = pretrain_stack(x_train, x_valid, batch_size)
        rate = flops / seconds / 1e9
        print(f"| {batch_size} | {seconds:.1f} | {rate:.1f} | {rate / peak:.2f} |")


if __name__ == "__main__":
    main()
