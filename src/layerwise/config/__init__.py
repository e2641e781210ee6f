"""A config: the checks a JSON schema cannot express (`checks`, with the hyper-parameter table of
`layerwise.hyperparameters`), the stages it defines with the spec each stage's jobs read (`specs`), and
which stage builds on which and where its files lie (`topology`); torch-free: Snakemake's own process
reads them."""
