# The search: every stage's trials run in shards; selection keeps the top K of each layer.


wildcard_constraints:
    stage="layer[0-9]+|finetune",
    shard="[0-9]+",


rule run_shard:
    input:
        data=rules.preprocess.output,
        tracking=rules.init_tracking.output,
        parents=get_parents,
    output:
        records=f"{RESULTS}/{{stage}}/shards/{{shard}}.json",
        weights=directory(f"{RESULTS}/{{stage}}/shards/{{shard}}.weights"),
    params:
        spec=get_stage_spec,
        code=CODE,
    threads: config["threads"]
    log:
        f"{RESULTS}/logs/{{stage}}/shard-{{shard}}.log",
    shell:
        "{PYTHON} -m layerwise shard --spec {params.spec:q} --shard {wildcards.shard}"
        " --data-dir {RESULTS}/data --parents {input.parents} --tracking {input.tracking}"
        " --records {output.records} --weights {output.weights} --threads {threads} > {log} 2>&1"


rule select_layer:
    input:
        records=get_stage_records,
        tracking=rules.init_tracking.output,
        parents=get_parents,
    output:
        topk=f"{RESULTS}/{{stage}}/topk.json",
        stacks=directory(f"{RESULTS}/{{stage}}/topk"),
    wildcard_constraints:
        stage="layer[0-9]+",
    params:
        spec=get_stage_spec,
        code=CODE,
    log:
        f"{RESULTS}/logs/{{stage}}/select.log",
    shell:
        "{PYTHON} -m layerwise select --spec {params.spec:q} --records {input.records}"
        " --parents {input.parents} --tracking {input.tracking} --out {output.topk}"
        " --stacks {output.stacks} > {log} 2>&1"


rule select_finetune:
    input:
        records=shard_records("finetune"),
        tracking=rules.init_tracking.output,
        parents=f"{RESULTS}/{LAST_LAYER}/topk.json",
    output:
        f"{RESULTS}/finetune/selected.json",
    params:
        spec=json.dumps(SPECS["finetune"], sort_keys=True),
        code=CODE,
    log:
        f"{RESULTS}/logs/finetune/select.log",
    shell:
        "{PYTHON} -m layerwise select --spec {params.spec:q} --records {input.records}"
        " --parents {input.parents} --tracking {input.tracking} --out {output} > {log} 2>&1"
