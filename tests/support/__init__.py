"""What the tests share: the repository's root (`repo`), whole snakemake runs and their results
(`runner`), real MLflow and PostgreSQL servers started for a test (`mlflowserver`, `postgres`), whether
a process still runs (`processes`), and the fork server the fork-server tests talk to (`forkserved`)."""
