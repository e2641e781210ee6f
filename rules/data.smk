# Load and split the data, then fit the preprocessing on the training split.


rule prepare_data:
    output:
        expand("{results}/data/raw/{split}.npz", results=RESULTS, split=("train", "valid", "test")),
    params:
        source=config["data"]["source"],
        seed=config["seed"],
        valid_fraction=config["data"]["valid_fraction"],
        test_fraction=config["data"]["test_fraction"],
        files=" ".join(
            f"--{flag} {value}"
            for flag, value in (("path", config["data"]["path"]), ("test-path", config["data"]["test_path"]))
            if value
        ),
        label_column=config["data"]["label_column"],
        code=CODE,
    log:
        f"{RESULTS}/logs/prepare_data.log",
    shell:
        "{PYTHON} -m layerwise prepare-data --source {params.source} --seed {params.seed}"
        " --valid-fraction {params.valid_fraction} --test-fraction {params.test_fraction}"
        " {params.files} --label-column {params.label_column:q}"
        " --out-dir {RESULTS}/data/raw > {log} 2>&1"


rule preprocess:
    input:
        rules.prepare_data.output,
    output:
        expand("{results}/data/{split}.npz", results=RESULTS, split=("train", "valid", "test")),
        preprocessor=f"{RESULTS}/data/preprocessor.joblib",
    params:
        steps=json.dumps(config["preprocess"]),
        code=CODE,
    log:
        f"{RESULTS}/logs/preprocess.log",
    shell:
        "{PYTHON} -m layerwise preprocess --steps {params.steps:q} --data-dir {RESULTS}/data/raw"
        " --out-dir {RESULTS}/data --preprocessor {output.preprocessor} > {log} 2>&1"
