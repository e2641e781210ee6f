# One job, before any parallel job: the MLflow store, experiment, pipeline run and stage runs.


rule init_tracking:
    output:
        f"{RESULTS}/tracking.json",
    params:
        uri=TRACKING_URI,
        experiment=config["experiment"],
        stages=" ".join(STAGES + ["evaluation"]),
        enabled=str(config["tracking"]["enabled"]).lower(),
        config=json.dumps(config, sort_keys=True),
        code=CODE,
    log:
        f"{RESULTS}/logs/init_tracking.log",
    shell:
        "{PYTHON} -m layerwise init-tracking --uri {params.uri:q} --experiment {params.experiment:q}"
        " --artifact-root {RESULTS}/mlartifacts --stages {params.stages} --enabled {params.enabled}"
        " --config {params.config:q} --out {output} > {log} 2>&1"
