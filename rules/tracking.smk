# MLflow: the store, experiment and pipeline run are created by one job before any parallel job;
# each stage then opens its own run under the pipeline run, with its settings as params.


rule init_tracking:
    output:
        out=f"{RESULTS}/tracking.json",
    params:
        **step_params(
            "init-tracking",
            uri=TRACKING_URI,
            experiment=config["experiment"],
            artifact_root=f"{RESULTS}/mlartifacts",
            enabled=config["tracking"]["enabled"],
        ),
        code=CODE,
    conda:
        ENV
    log:
        f"{RESULTS}/logs/init_tracking.log",
    shell:
        STEP


rule init_stage:
    input:
        pipeline=rules.init_tracking.output,
    output:
        tracking=f"{RESULTS}/{{stage}}/tracking.json",
        spec_file=f"{RESULTS}/{{stage}}/spec.json",  # what the stage's jobs read: a changed spec reruns them
    params:
        **step_params("init-stage", spec=get_stage_spec),
        code=CODE,
    conda:
        ENV
    log:
        f"{RESULTS}/logs/{{stage}}/init_stage.log",
    shell:
        STEP
