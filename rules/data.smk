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
        **step_params(
            "prepare-data",
            source=config["data"]["source"],
            seed=config["seed"],
            valid_fraction=config["data"]["valid_fraction"],
            test_fraction=config["data"]["test_fraction"],
            **DATA_FILES,
            generator_seed=config["data"]["generator_seed"],
            label_column=config["data"]["label_column"],
            allow_missing=ALLOW_MISSING,
        ),
        code=CODE,
        data_digests=DATA_DIGESTS,
    conda:
        ENV
    log:
        f"{RESULTS}/logs/prepare_data.log",
    shell:
        STEP


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
        **step_params(
            "preprocess",
            out=lambda output: (output.train, output.valid, output.test),
            unlabelled=lambda input, output: (input.unlabelled, output.unlabelled),
        ),
        code=CODE,
    conda:
        ENV
    log:
        f"{RESULTS}/logs/preprocess.log",
    shell:
        STEP
