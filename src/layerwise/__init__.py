"""layerwise: greedy layer-wise hyper-parameter search (Bengio 2012), one Snakemake job per shard of trials."""

__version__ = "0.1.0"
