# Load and split the data; once the preprocessing stage (search.smk) has chosen a pipeline, apply it.


rule prepare_data:
    input:
        data_files(),  # a user's files: editing one reruns every job that depends on the data
    output:
        splits=expand("{results}/data/raw/{split}.npz", results=RESULTS, split=("train", "valid", "test")),
        unlabelled=f"{RESULTS}/data/raw/unlabelled.npz",
        schema=f"{RESULTS}/data/raw/schema.json",
        files_read=f"{RESULTS}/data/raw/files_read.json",
    params:
        source=config["data"]["source"],
        seed=config["seed"],
        valid_fraction=config["data"]["valid_fraction"],
        test_fraction=config["data"]["test_fraction"],
        data=data_options(),
        label_column=config["data"]["label_column"],
        allow_missing=str(ALLOW_MISSING).lower(),
        code=CODE,
        data_digests=DATA_DIGESTS,
    conda:
        ENV
    log:
        f"{RESULTS}/logs/prepare_data.log",
    shell:
        "layerwise step prepare-data --source {params.source:q} --seed {params.seed}"
        " --valid-fraction {params.valid_fraction} --test-fraction {params.test_fraction}"
        " {params.data} --label-column={params.label_column:q} --allow-missing {params.allow_missing}"
        " --out {output.splits:q} --unlabelled {output.unlabelled:q} --schema {output.schema:q}"
        " --files-read {output.files_read:q} > {log:q} 2>&1"


rule preprocess:
    input:
        selected=topology.selection_file(RESULTS, "preprocess"),
        splits=rules.prepare_data.output.splits,
        unlabelled=rules.prepare_data.output.unlabelled,
    output:
        train=f"{RESULTS}/data/train.npz",
        valid=f"{RESULTS}/data/valid.npz",
        test=f"{RESULTS}/data/test.npz",
        unlabelled=f"{RESULTS}/data/unlabelled.npz",
        preprocessor=f"{RESULTS}/data/preprocessor.joblib",
    params:
        code=CODE,
    conda:
        ENV
    log:
        f"{RESULTS}/logs/preprocess.log",
    shell:
        "layerwise step preprocess --selected {input.selected} --splits {input.splits}"
        " --out {output.train} {output.valid} {output.test} --unlabelled {input.unlabelled} {output.unlabelled}"
        " --preprocessor {output.preprocessor} > {log} 2>&1"
