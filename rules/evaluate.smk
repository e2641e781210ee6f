# Test the selected network (the only rule that reads the test split), then write the trials table.


rule evaluate:
    input:
        selected=rules.select_finetune.output,
        preprocessing=rules.select_preprocess.output,
        selections=stage_selections(),
        test=rules.preprocess.output.test,
        tracking=rules.init_tracking.output,
    output:
        summary=f"{RESULTS}/summary.json",
        model=f"{RESULTS}/model.pt",
    params:
        experiment=config["experiment"],
        code=CODE,
    conda:
        ENV
    log:
        f"{RESULTS}/logs/evaluate.log",
    shell:
        "layerwise evaluate --selected {input.selected} --preprocessing {input.preprocessing}"
        " --selections {input.selections} --test {input.test}"
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
        config=json.dumps(config, sort_keys=True),
        code=CODE,
    conda:
        ENV
    log:
        f"{RESULTS}/logs/report.log",
    shell:
        "layerwise report --records {input.records} --summary {input.summary}"
        " --tracking {input.tracking} --config {params.config:q} --csv {output.csv} --parquet {output.parquet} > {log} 2>&1"
