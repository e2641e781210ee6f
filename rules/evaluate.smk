# Train the selected configuration again with other seeds (by default refit on train + valid), test the
# selected network, the seed study and its ensemble (the only rule that reads the test split), write the
# trials table.


rule retrain:
    input:
        selected=rules.select_finetune.output.selection,
        train=rules.preprocess.output.train,
        valid=rules.preprocess.output.valid,
        parents=topology.parents_file(RESULTS, "finetune", LAYERS),
        spec=f"{RESULTS}/finetune/spec.json",
    output:
        record=f"{RESULTS}/seed_study/{{member}}.json",
        weights=f"{RESULTS}/seed_study/{{member}}.pt",
    wildcard_constraints:
        member="seed[0-9]+",
    params:
        **step_params(
            "retrain", refit=config["evaluate"]["refit_on_train_valid"], device=config["device"]
        ),
        code=CODE,
    threads: config["threads"]
    resources:
        gpu=int(config["device"] == "cuda"),
    conda:
        ENV
    log:
        f"{RESULTS}/logs/seed_study/{{member}}.log",
    shell:
        STEP


# The members' twins, each cross-fitted on the labelled rows outside its fold (or, with one seed, trained
# on the training rows as the search's trials were): they judge the final model's candidates on rows
# they never saw (see evaluate.report: auto and stages/choice.py).
use rule retrain as retrain_twin with:
    output:
        record=f"{RESULTS}/seed_study/twins/{{member}}.json",
        weights=f"{RESULTS}/seed_study/twins/{{member}}.pt",
    params:
        **step_params(
            "retrain",
            folds=twin_folds(),
            fold=lambda wildcards: int(wildcards.member.removeprefix("seed")),
            device=config["device"],
        ),
        code=CODE,
    log:
        f"{RESULTS}/logs/seed_study/twins/{{member}}.log",


rule evaluate:
    input:
        selected=rules.select_finetune.output.selection,
        preprocessing=rules.select_preprocess.output.selection,
        selections=stage_selections(),
        members=seed_study_members(),
        twins=seed_study_twins(),
        train=rules.preprocess.output.train,
        valid=rules.preprocess.output.valid,
        test=rules.preprocess.output.test,
        schema=rules.prepare_data.output.schema,
        tracking=rules.init_tracking.output,
    output:
        summary=f"{RESULTS}/summary.json",
        model=f"{RESULTS}/model.pt",
        histogram=in_report(f"{RESULTS}/seed_study.png", "seed_study", "Result"),
        beam=in_report(f"{RESULTS}/beam.png", "beam", "Result"),
    params:
        **step_params(
            "evaluate",
            report=config["evaluate"]["report"],
            one_se_rule=config["evaluate"]["one_se_rule"],
            experiment=config["experiment"],
        ),
        code=CODE,
    conda:
        ENV
    log:
        f"{RESULTS}/logs/evaluate.log",
    shell:
        STEP


rule package_model:
    input:
        network=rules.evaluate.output.model,
        preprocessor=rules.preprocess.output.preprocessor,
        schema=rules.prepare_data.output.schema,
        example=f"{RESULTS}/data/raw/test.npz",
        summary=rules.evaluate.output.summary,
        tracking=rules.init_tracking.output,
    output:
        model=directory(f"{RESULTS}/model"),
    params:
        **step_params(
            "package-model", experiment=config["experiment"], register=config["tracking"]["register_model"]
        ),
        code=CODE,
    conda:
        ENV
    log:
        f"{RESULTS}/logs/package_model.log",
    shell:
        STEP


rule report:
    input:
        records=all_records(),
        summary=rules.evaluate.output.summary,
        model=rules.package_model.output,
        data=data_files(),
        files_read=rules.prepare_data.output.files_read,
        raw_splits=rules.prepare_data.output.splits,
        tracking=rules.init_tracking.output,
    output:
        csv=in_report(f"{RESULTS}/trials.csv", "trials", "Result"),
        parquet=f"{RESULTS}/trials.parquet",
        markdown=in_report(f"{RESULTS}/summary.md", "summary", "Result"),
        provenance=f"{RESULTS}/provenance.json",
    params:
        **step_params("report", config=json.dumps(config, sort_keys=True)),
        code=CODE,
    conda:
        ENV
    log:
        f"{RESULTS}/logs/report.log",
    shell:
        STEP
