"""layerwise: greedy layer-wise hyper-parameter search (Bengio 2012), one Snakemake job per shard of trials.

The subpackages, each importing only those above it in this list: `data`, `track`, `learn`, `search`,
`packs`, `stages`, `present`, `model`, `config`, `steps`, `command`; below them all, the modules
`errors`, `files`, `seeding` and `schema`.
"""

__version__ = "0.1.0"
