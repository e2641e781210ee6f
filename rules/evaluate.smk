# Test the selected network (the only rule that reads the test split), then write the trials table.


rule evaluate:
    input:
        selected=rules.select_finetune.output,
        data=rules.preprocess.output,
        tracking=rules.init_tracking.output,
    output:
        summary=f"{RESULTS}/summary.json",
        model=f"{RESULTS}/model.pt",
    params:
        experiment=config["experiment"],
        code=CODE,
    log:
        f"{RESULTS}/logs/evaluate.log",
    shell:
        "{PYTHON} -m layerwise evaluate --selected {input.selected} --data-dir {RESULTS}/data"
        " --tracking {input.tracking} --experiment {params.experiment:q}"
        " --summary {output.summary} --model {output.model} > {log} 2>&1"


rule report:
    input:
        records=all_records(),
        summary=rules.evaluate.output.summary,
        tracking=rules.init_tracking.output,
    output:
        csv=f"{RESULTS}/trials.csv",
        parquet=f"{RESULTS}/trials.parquet",
    params:
        code=CODE,
    log:
        f"{RESULTS}/logs/report.log",
    shell:
        "{PYTHON} -m layerwise report --records {input.records} --summary {input.summary}"
        " --tracking {input.tracking} --csv {output.csv} --parquet {output.parquet} > {log} 2>&1"
