# MLflow: the store, experiment and pipeline run are created by one job before any parallel job;
# each stage then opens its own run under the pipeline run, with its settings as params.


rule init_tracking:
    output:
        f"{RESULTS}/tracking.json",
    params:
        uri=TRACKING_URI,
        experiment=config["experiment"],
        artifact_root=f"{RESULTS}/mlartifacts",
        enabled=str(config["tracking"]["enabled"]).lower(),
        code=CODE,
    conda:
        ENV
    log:
        f"{RESULTS}/logs/init_tracking.log",
    shell:
        "layerwise step init-tracking --uri {params.uri:q} --experiment {params.experiment:q}"
        " --artifact-root {params.artifact_root} --enabled {params.enabled} --out {output} > {log} 2>&1"


rule init_stage:
    input:
        rules.init_tracking.output,
    output:
        tracking=f"{RESULTS}/{{stage}}/tracking.json",
        spec=f"{RESULTS}/{{stage}}/spec.json",  # what the stage's jobs read: a changed spec reruns them
    params:
        spec=get_stage_spec,
        code=CODE,
    conda:
        ENV
    log:
        f"{RESULTS}/logs/{{stage}}/init_stage.log",
    shell:
        "layerwise step init-stage --tracking {input} --spec {params.spec:q} --spec-file {output.spec}"
        " --out {output.tracking} > {log} 2>&1"
