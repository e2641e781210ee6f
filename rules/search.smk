# The search: every stage's trials run in shards; selection keeps the best preprocessing and the
# top K of each layer.


rule run_shard:
    input:
        unpack(get_stage_data),
        tracking=f"{RESULTS}/{{stage}}/tracking.json",
        spec=f"{RESULTS}/{{stage}}/spec.json",
        parents=get_parents,
        history=get_history,
    output:
        records=f"{RESULTS}/{{stage}}/shards/r{{round}}-{{shard}}.json",
        weights=directory(f"{RESULTS}/{{stage}}/shards/r{{round}}-{{shard}}.weights"),
    params:
        **step_params(
            "shard",
            checkpoints=lambda wildcards: f"{RESULTS}/{wildcards.stage}/checkpoints",  # outlives a killed attempt
            device=stage_device,
        ),
        code=CODE,
    threads: config["threads"]
    resources:
        gpu=lambda wildcards: int(stage_device(wildcards) == "cuda"),
    conda:
        ENV
    log:
        f"{RESULTS}/logs/{{stage}}/r{{round}}-shard-{{shard}}.log",
    shell:
        STEP


rule select_layer:
    input:
        records=get_stage_records,
        tracking=f"{RESULTS}/{{stage}}/tracking.json",
        spec=f"{RESULTS}/{{stage}}/spec.json",
        parents=get_parents,
    output:
        selection=f"{RESULTS}/{{stage}}/topk.json",
        stacks=directory(f"{RESULTS}/{{stage}}/topk"),
        **stage_figures("{stage}", "pretrain"),
    wildcard_constraints:
        stage="layer[0-9]+",
    params:
        **step_params("select", figures=figures_folder),
        code=CODE,
    conda:
        ENV
    log:
        f"{RESULTS}/logs/{{stage}}/select.log",
    shell:
        STEP


# Preprocessing and fine-tuning select as a layer does, without stacks to keep.
use rule select_layer as select_preprocess with:
    input:
        records=shard_records("preprocess"),
        tracking=f"{RESULTS}/preprocess/tracking.json",
        spec=f"{RESULTS}/preprocess/spec.json",
    output:
        selection=f"{RESULTS}/preprocess/selected.json",
        **stage_figures("preprocess", "preprocess"),
    log:
        f"{RESULTS}/logs/preprocess/select.log",


use rule select_layer as select_finetune with:
    input:
        records=shard_records("finetune"),
        tracking=f"{RESULTS}/finetune/tracking.json",
        spec=f"{RESULTS}/finetune/spec.json",
        parents=topology.parents_file(RESULTS, "finetune", LAYERS),
    output:
        selection=f"{RESULTS}/finetune/selected.json",
        **stage_figures("finetune", "finetune"),
    log:
        f"{RESULTS}/logs/finetune/select.log",
