# layerwise: greedy layer-wise hyper-parameter search (Bengio 2012), tracked in MLflow.
#   snakemake --cores all                          default run (config/config.yaml)
#   snakemake --cores all --configfile config/smoke.yaml
#   snakemake --report results/<experiment>/report.html     the figures and tables, with captions
import os

from snakemake.utils import min_version

min_version("9.0")


report: "workflow/report/workflow.rst"


# The default config, unless --configfile names another: Snakemake would otherwise merge the
# two, and a user's config would silently inherit the default's search spaces.
if not workflow.config_settings.configfiles:

    configfile: "config/config.yaml"



# A tracking server's address reaches cluster jobs too (see the docs, Running on a cluster).
if "MLFLOW_TRACKING_URI" in os.environ:

    envvars:
        "MLFLOW_TRACKING_URI",



include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/tracking.smk"
include: "rules/search.smk"
include: "rules/evaluate.smk"


# Bookkeeping that takes seconds runs where snakemake runs, not as a cluster job.
localrules:
    all,
    init_tracking,
    init_stage,
    select_preprocess,
    select_layer,
    select_finetune,
    report,


rule all:
    input:
        f"{RESULTS}/summary.json",
        f"{RESULTS}/trials.csv",
        f"{RESULTS}/trials.parquet",
        f"{RESULTS}/summary.md",
        f"{RESULTS}/provenance.json",
    default_target: True


onstart:
    write_plan()
    warn_of_sqlite_on_a_cluster()
    start_fork_server()


onsuccess:
    stop_fork_server()
    print_summary()


onerror:
    stop_fork_server()
    close_open_runs()
