"""A config: the checks a JSON schema cannot express (`checks`), and the stages it defines with the spec
each stage's jobs read (`specs`, torch-free: Snakemake's own process reads it)."""
