import copy
import re

import pytest
import yaml

from layerwise.config.checks import ConfigError, check_config
from layerwise.config.specs import stage_specs
from support.repo import REPO

SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())


@pytest.fixture()
def config():
    """The smoke config with the schema defaults a Snakemake run would add."""
    from snakemake.utils import validate

    loaded = yaml.safe_load((REPO / "config" / "smoke.yaml").read_text())
    validate(loaded, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    return loaded


def test_the_shipped_configs_are_valid(config):
    check_config(config)
    default = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    from snakemake.utils import validate

    validate(default, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    check_config(default)


@pytest.mark.parametrize(
    "path, value, message",
    [
        (
            ("pretrain", "space", "learning_rate"),
            0.0,
            "pretrain.space.learning_rate: 0.0 is not allowed; it must be a number > 0",
        ),
        (
            ("finetune", "space", "learning_rate"),
            {"type": "float", "low": -1, "high": 1},
            "finetune.space.learning_rate: -1.0 is not allowed",
        ),
        (
            ("finetune", "space", "batch_size"),
            {"type": "int", "low": 32, "high": 10**12},
            "finetune.space.batch_size: 1000000000000 is not allowed; it must be an integer in 1..1000000",
        ),  # an integer shown as one, though a range's ends are floats inside
        (("pretrain", "space", "learning_rate"), {"type": "float", "low": 0.1, "high": 0.01}, "must not exceed high"),
        (("pretrain", "space", "l2"), {"type": "float", "low": 0, "high": 1, "log": True}, "needs low > 0"),
        (
            ("finetune", "space", "l1_hidden"),
            -0.5,
            "finetune.space.l1_hidden: -0.5 is not allowed; it must be a number >= 0",
        ),
        (
            ("pretrain", "space", "activation"),
            {"type": "categorical", "choices": ["relu", "swish"]},
            "'swish' is not allowed; it must be one of sigmoid, tanh, relu",
        ),
        (
            ("pretrain", "space", "activation"),
            {"type": "categorical", "choices": []},
            "choices must be a non-empty list",
        ),
        (
            ("pretrain", "space", "hidden_units"),
            {"type": "float", "low": 10, "high": 20},
            "must be searched with type: int",
        ),
        (("pretrain", "space", "momentum"), 1.0, "a number in \\[0, 1\\)"),
        (
            ("finetune", "space", "dropuot"),
            0.5,
            "unknown hyper-parameter 'dropuot' \\(did you mean 'dropout'\\?\\); allowed: activation, batch_size, bias",
        ),
        (("pretrain", "top_k"), 9, "pretrain.top_k \\(9\\) exceeds the 3 trials of the first layer"),
        (("data", "source"), "file", "data.path: required"),
        (("data", "source"), "digits", "data.generator_seed: only for data.source mnist1d, not 'digits'"),
    ],
)
def test_bad_values_are_named_with_what_is_allowed(config, path, value, message):
    bad = copy.deepcopy(config)
    bad["data"]["generator_seed"] = 7  # MNIST-1D's; another source refuses it
    target = bad
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ConfigError, match=message):
        check_config(bad)


def test_stage_specs_chain_the_layers(config):
    specs = stage_specs(config)
    assert list(specs) == ["preprocess", "layer1", "layer2", "finetune"]
    assert specs["preprocess"].top_k == 1 and not specs["preprocess"].has_parent_stacks
    assert specs["layer1"].parents == 1 and not specs["layer1"].has_parent_stacks
    assert specs["layer2"].parents == config["pretrain"]["top_k"]
    assert specs["finetune"].no_pretraining_arm is True


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("lr_schedule", "cosine", "'cosine' is not allowed; it must be one of constant, inverse_time, inverse_time_ep"),
        ("lr_tau", 0, "a number of updates >= 1"),
        (
            "init_rule",
            {"type": "categorical", "choices": ["fan_in", "he"]},
            "'he' is not allowed; it must be one of fan_avg, fan_in",
        ),
        ("patience", -1, "an integer >= 0"),
        ("corruption_type", "salt", "one of masking, gaussian"),
        ("reconstruction", "hinge", "one of squared_error, cross_entropy"),
        ("sparsity_target", 1.0, "a number in \\(0, 1\\)"),
        ("sparsity_l1", -0.1, "a number >= 0"),
        (
            "algorithm",
            {"type": "categorical", "choices": ["rbm", "gmm"]},
            "'gmm' is not allowed; it must be one of none, autoencoder, denoising_autoencoder, sparse_autoencoder, rbm",
        ),
        ("cd_k", 0, "an integer in 1..1000"),
        ("cd_k", {"type": "float", "low": 1, "high": 3}, "must be searched with type: int"),
        ("rbm_visible", "binary", "one of auto, bernoulli, gaussian"),
        ("lr_tau_epochs", 0, "an integer number of epochs >= 1"),
    ],
)
def test_pretraining_knobs_are_checked(config, key, value, message):
    bad = copy.deepcopy(config)
    bad["pretrain"]["space"][key] = value
    with pytest.raises(ConfigError, match=f"pretrain.space.{key}: .*{message}"):
        check_config(bad)


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("pipeline", "standardize+whiten", "transforms joined by '\\+' from: impute, standardize, pca"),
        ("pipeline", {"type": "categorical", "choices": ["none", ""]}, "'' is not allowed"),
        ("pca_components", 1.5, "a fraction of variance in \\(0, 1\\), or an integer number of components >= 1"),
        ("pca_components", {"type": "float", "low": 0.0, "high": 0.9}, "0.0 is not allowed"),
    ],
)
def test_preprocessing_candidates_are_checked(config, key, value, message):
    bad = copy.deepcopy(config)
    bad["preprocess"]["space"][key] = value
    with pytest.raises(ConfigError, match=f"preprocess.space.{key}: .*{message}"):
        check_config(bad)


def test_nesterov_needs_momentum(config):
    bad = copy.deepcopy(config)
    bad["finetune"]["space"].update(nesterov={"type": "categorical", "choices": [True, False]}, momentum=0.0)
    with pytest.raises(
        ConfigError, match="finetune.space.nesterov: Nesterov momentum needs finetune.space.momentum > 0"
    ):
        check_config(bad)


def test_kl_sparsity_needs_sigmoid_units(config):
    bad = copy.deepcopy(config)
    bad["pretrain"]["space"]["sparsity_kl"] = 0.1  # smoke.yaml searches tanh, relu, ... too
    with pytest.raises(ConfigError, match="pretrain.space.sparsity_kl: the KL penalty needs .* activation sigmoid"):
        check_config(bad)
    bad["pretrain"]["space"]["activation"] = "sigmoid"
    check_config(bad)


@pytest.mark.parametrize(
    "strategy, message",
    [
        ({"name": "grid", "rounds": 2}, "pretrain.strategy.rounds: a grid search has one round, got 2; allowed: 1"),
        ({"name": "grid", "grid": {"lerning_rate": 3}}, "pretrain.strategy.grid.lerning_rate: not a hyper-parameter"),
        ({"name": "grid", "grid": {"learning_rate": [0.1, -1.0]}}, "pretrain.strategy.grid.learning_rate: -1.0 is not"),
        ({"name": "multires", "coordinates": [["epochs"]]}, "'epochs' is not searched in this stage; allowed: .*activ"),
        ({"name": "random", "extend_on_border": True}, "random search does not adapt .* allowed with: multires"),
        ({"name": "coordinate", "sensitive": "speed"}, "pretrain.strategy.sensitive: 'speed' is not a hyper-parameter"),
    ],
)
def test_strategy_settings_are_checked(config, strategy, message):
    bad = copy.deepcopy(config)
    defaults = {"rounds": 1, "grid": {}, "shrink": 0.5, "coordinates": [], "sensitive": "learning_rate"}
    bad["pretrain"]["strategy"] = {**defaults, "extend_on_border": False, "extend_factor": 2.0, **strategy}
    with pytest.raises(ConfigError, match=message):
        check_config(bad)


def test_top_k_is_checked_against_the_grid_size(config):
    bad = copy.deepcopy(config)
    bad["pretrain"]["strategy"] = {**config["pretrain"]["strategy"], "name": "grid", "grid": {}}
    bad["pretrain"]["space"] = {"learning_rate": {"type": "float", "low": 0.01, "high": 0.1}}
    bad["pretrain"]["top_k"] = 4  # the grid has 3 points
    with pytest.raises(ConfigError, match="pretrain.top_k \\(4\\) exceeds the 3 trials of the first layer"):
        check_config(bad)
    bad["pretrain"]["top_k"] = 3
    check_config(bad)


def test_a_bernoulli_rbm_on_pipelines_that_leave_the_unit_interval_is_refused(config):
    config["preprocess"]["space"]["pipeline"] = {"type": "categorical", "choices": ["standardize", "standardize+pca"]}
    config["pretrain"]["space"]["rbm_visible"] = "bernoulli"
    with pytest.raises(ConfigError, match=r"pretrain\.space\.rbm_visible: bernoulli needs first-layer inputs in"):
        check_config(config)
    config["preprocess"]["space"]["pipeline"]["choices"].append("standardize+uniformize")
    check_config(config)  # one candidate maps into [0, 1]: the trials on it can use Bernoulli units
    config["pretrain"]["space"]["rbm_visible"] = "auto"
    config["preprocess"]["space"]["pipeline"] = "standardize"
    check_config(config)


def test_a_tracking_uri_with_a_password_is_refused_without_repeating_it(config):
    config["tracking"]["uri"] = "postgresql://researcher:s3cret@db.example:5432/mlflow"
    with pytest.raises(ConfigError, match="tracking.uri: the URI carries a password") as raised:
        check_config(config)
    assert "s3cret" not in str(raised.value)
    config["tracking"]["uri"] = "postgresql://researcher@db.example:5432/mlflow"  # a user name alone is no secret
    check_config(config)


@pytest.mark.parametrize(
    ("uri", "part"),
    [
        ("postgresql://researcher@db.example/mlflow?password=s3cret", "the query key 'password'"),
        ("postgresql://db.example/mlflow?sslmode=require&PASSWORD=s3cret", "the query key 'PASSWORD'"),
        ("mysql+pymysql://researcher@db.example/mlflow?passwd=s3cret", "the query key 'passwd'"),
        ("postgresql://h/db?sslpassword=s3cret", "the query key 'sslpassword'"),
        ("mssql+pyodbc://h/db?odbc_connect=DRIVER%3Dx%3BPWD%3Ds3cret", "the query key 'odbc_connect'"),
        ("http://s3cret@h:5000", "user info in a http URI"),
        ("https://s3cret:@h", "a password in its user info"),
        ("http://h:5000/#s3cret", "a fragment"),
    ],
)
def test_a_tracking_uri_may_hold_only_what_is_known_to_be_no_secret(config, uri, part):
    config["tracking"]["uri"] = uri
    with pytest.raises(ConfigError, match=re.escape(f"tracking.uri: the URI carries {part}")) as raised:
        check_config(config)
    assert "s3cret" not in str(raised.value) and "MLFLOW_TRACKING_PASSWORD" in str(raised.value)


@pytest.mark.parametrize(
    "uri",
    [
        "sqlite:///mlflow.db", "sqlite:////shared/runs/mlflow.db", "http://127.0.0.1:5000", "https://mlflow.example",
        "file:///shared/mlruns", "postgresql://researcher@db.example:5432/mlflow?sslmode=require&connect_timeout=10",
        "mssql+pyodbc://researcher@h/db?driver=ODBC+Driver+18&encrypt=yes", "databricks",
    ],
)  # fmt: skip
def test_a_tracking_uri_with_a_user_name_host_port_and_known_keys_passes(config, uri):
    config["tracking"]["uri"] = uri
    check_config(config)


@pytest.mark.parametrize("name", ["run\n", "run\ntouch PWNED", "x" * 65, "-run", "run one", ""])
def test_an_experiment_name_is_a_short_plain_name_matched_whole(name):
    import jsonschema

    from layerwise.schema import problem

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"experiment": name}, SCHEMA)
    assert problem({"experiment": name}, SCHEMA).startswith("experiment: ")
    jsonschema.validate({"experiment": "mnist1d-default_2.b"}, SCHEMA)


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"pretrain": {"top_kk": 2}},
            "pretrain.top_kk: unknown key (did you mean 'top_k'?); allowed: distinct_parents,",
        ),
        ({"evaluat": {}}, "evaluat: unknown key (did you mean 'evaluate'?); allowed: data, device, evaluate,"),
        ({"pretrain": {"zzz": 2}}, "pretrain.zzz: unknown key; allowed: distinct_parents,"),
        (
            {"pretrain": {"strategy": {"name": "multiress"}}},
            "multiress is not allowed (did you mean 'multires'?); it must",
        ),
        ({"seed": -1}, "seed: -1 is not allowed; it must be an integer ≥ 0"),
        ({"experiment": None}, "experiment: null is not allowed; it must be a string matching"),
    ],
)
def test_a_config_the_schema_refuses_is_named_with_what_is_allowed_and_the_closest_name(change, message):
    from layerwise.schema import problem

    assert message in problem({"experiment": "x", **change}, SCHEMA)


def test_each_stage_builds_on_the_one_before_and_searches_its_own_data(config):
    from layerwise.config import topology

    layers = config["pretrain"]["layers"]
    chain = {stage: topology.previous_stage(stage, layers) for stage in stage_specs(config)}
    assert chain == {"preprocess": None, "layer1": None, "layer2": "layer1", "finetune": "layer2"}
    assert topology.stage_data("r", "preprocess")["train"] == "r/data/raw/train.npz"
    assert topology.stage_data("r", "layer1")["valid"] == "r/data/valid.npz"  # preprocessed
    assert topology.stage_data("r", "layer1")["unlabelled"] == "r/data/unlabelled.npz"
    assert topology.parents_file("r", "finetune", layers) == ["r/layer2/topk.json"]
    assert topology.parents_file("r", "layer1", layers) == []
    assert topology.selection_file("r", "preprocess") == "r/preprocess/selected.json"
    spec = stage_specs(config)["layer1"]
    history = topology.stage_records("r", spec, rounds=3, before=2)
    assert history == [f"r/layer1/shards/r{r}-{s}.json" for r in range(2) for s in range(spec.shards)]


def test_without_pretrained_layers_fine_tuning_is_the_no_pretraining_arm_alone(config):
    from layerwise.config import topology
    from layerwise.search.trials import arm_count

    config["pretrain"]["layers"] = 0
    check_config(config)
    specs = stage_specs(config)
    assert list(specs) == ["preprocess", "finetune"]
    assert topology.previous_stage("finetune", 0) is None and topology.parents_file("r", "finetune", 0) == []
    assert arm_count(specs["finetune"]) == 1 and not specs["finetune"].has_parent_stacks
    config["finetune"]["no_pretraining_arm"] = False
    with pytest.raises(ConfigError, match="finetune.no_pretraining_arm: false leaves nothing to fine-tune"):
        check_config(config)


def test_rungs_that_could_not_each_train_longer_than_the_one_below_are_refused(config):
    halved = copy.deepcopy(config)  # smoke: max_epochs 5
    halved["finetune"]["halving"] = {"rungs": 3, "eta": 3, "hyperband": False}  # would need 9 epochs
    with pytest.raises(ConfigError, match="finetune.halving.rungs: 3 rungs with eta 3 need max_epochs of at least 9"):
        check_config(halved)
    halved["finetune"]["space"]["max_epochs"] = {"type": "int", "low": 4, "high": 40}  # its smallest value counts
    with pytest.raises(ConfigError, match="finetune.space.max_epochs can be 4"):
        check_config(halved)
    halved["finetune"]["space"]["max_epochs"] = {"type": "int", "low": 9, "high": 40}
    check_config(halved)


def test_an_eta_below_two_is_refused_by_the_schema(config):
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    config["finetune"]["halving"] = {"rungs": 2, "eta": 1.5}
    with pytest.raises(WorkflowError, match="1.5"):
        validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))


def test_the_default_config_leaves_every_shard_a_pack_in_every_stage():
    """The rule the docs give (concepts: packs): pack_size × shards ≤ the trials of a stage's round, or a
    shard job starts with nothing to do."""
    from snakemake.utils import validate

    default = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    validate(default, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    for stage, spec in stage_specs(default).items():
        round_trials = spec.trials_per_parent * (spec.parents + spec.no_pretraining_arm)
        assert spec.pack_size * spec.shards <= round_trials, (stage, spec.pack_size, spec.shards, round_trials)
