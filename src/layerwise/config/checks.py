"""Checks a validated config for what a JSON schema cannot express.

The config arrives as a dict (Snakemake has already applied the schema and its defaults); nothing
here reads files. Every error names the config key and the values it allows. Torch-free: Snakemake's
own process runs it (what each hyper-parameter may be comes from the table in hyperparameters.py).
"""

import math
import urllib.parse

from layerwise import hyperparameters
from layerwise.errors import UserError
from layerwise.hyperparameters import NO_TRANSFORM, STAGES, TABLE, transforms_of
from layerwise.search.space import Categorical, Fixed, Interval, SearchSpace, SpaceError
from layerwise.search.strategies import STRATEGY_CLASSES, make_strategy


class ConfigError(UserError, ValueError):
    """A config value that would fail later; raised before any job runs."""


def candidate_values(distribution) -> list:
    """The values that bound what a distribution can produce: its ends, choices or fixed value."""
    if isinstance(distribution, Interval):
        return [distribution.low, distribution.high]
    if isinstance(distribution, Categorical):
        return list(distribution.choices)
    return [distribution.value]


def check_value(name: str, value, where: str) -> None:
    """Raises ConfigError unless `value` is one that hyper-parameter `name` may take."""
    entry = TABLE[name]
    if not entry.admits(value):
        raise ConfigError(f"{where}: {entry.as_given(value)!r} is not allowed; it must be {entry.allowed}")


def check_strategy(settings: dict, space: SearchSpace, where: str) -> None:
    """The strategy's settings must name hyper-parameters the stage searches, with allowed values."""
    searched = space.searched()
    allowed = ", ".join(searched) or "(none: the space fixes every hyper-parameter)"
    if settings["name"] == "grid" and settings["rounds"] > 1:
        raise ConfigError(
            f"{where}.rounds: a grid search has one round, got {settings['rounds']}; allowed: 1 "
            "(name: multires narrows the grid round after round)"
        )
    for name, points in settings["grid"].items():
        if name not in space.distributions:
            raise ConfigError(f"{where}.grid.{name}: not a hyper-parameter of this stage; allowed: {allowed}")
        for value in points if isinstance(points, list) else []:
            check_value(name, value, f"{where}.grid.{name}")
    for names in settings["coordinates"]:
        for name in names:
            if name not in searched:
                raise ConfigError(f"{where}.coordinates: {name!r} is not searched in this stage; allowed: {allowed}")
    if settings["extend_on_border"] and not STRATEGY_CLASSES[settings["name"]].adaptive:
        raise ConfigError(
            f"{where}.extend_on_border: {settings['name']} search does not adapt between rounds; "
            f"allowed with: {', '.join(name for name, kind in STRATEGY_CLASSES.items() if kind.adaptive)}"
        )
    if settings["name"] == "coordinate" and settings["sensitive"] not in space.distributions:
        raise ConfigError(f"{where}.sensitive: {settings['sensitive']!r} is not a hyper-parameter; allowed: {allowed}")


def first_round_size(settings: dict, space: SearchSpace, seed: int, budget: int) -> int:
    """How many trials a stage's first round holds per arm: `budget`, or a grid's own size (counted, not
    proposed: the check must answer at once for any size)."""
    return make_strategy(space, seed, "layer1", settings).first_round_size(budget)


def check_space(space_spec: dict, defaults: dict, where: str) -> SearchSpace:
    try:
        space = SearchSpace(space_spec, defaults, where)
    except SpaceError as error:
        raise ConfigError(str(error)) from error
    for name, distribution in space.distributions.items():
        if TABLE[name].integer and isinstance(distribution, Interval) and not distribution.integer:
            raise ConfigError(f"{where}.{name}: must be searched with type: int")
        for value in candidate_values(distribution):
            check_value(name, value, f"{where}.{name}")
    if "sparsity_kl" in space.distributions and max(candidate_values(space.distributions["sparsity_kl"])) > 0:
        others = [a for a in candidate_values(space.distributions["activation"]) if a != "sigmoid"]
        if others:
            raise ConfigError(
                f"{where}.sparsity_kl: the KL penalty needs mean activations in (0, 1), i.e. activation sigmoid; "
                f"{where}.activation allows {others[0]!r}"
            )
    nesterov = candidate_values(space.distributions.get("nesterov", Fixed(False)))
    if True in nesterov and min(candidate_values(space.distributions["momentum"])) <= 0:
        raise ConfigError(f"{where}.nesterov: Nesterov momentum needs {where}.momentum > 0 in every trial")
    return space


# Query parameters that carry a database password (libpq's, and the MySQL drivers').
# What a tracking URI may carry, known to hold no secret: a URI is written to logs, params and artifacts.
# User info (a user name, without password) only for a database; in an HTTP URI it is a token.
DATABASE_SCHEMES = ("postgresql", "mysql", "mssql", "oracle")
SAFE_QUERY_KEYS = {
    "sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl", "connect_timeout", "application_name",
    "target_session_attrs", "charset", "driver", "encrypt", "trustservercertificate", "timeout",
}  # fmt: skip
CREDENTIALS_HINT = (
    "give credentials through MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN "
    "(an mlflow server), PGPASSWORD or ~/.pgpass (PostgreSQL), or your database driver's own files instead"
)


def check_tracking_uri(uri: str, where: str) -> None:
    """A tracking URI is written to logs, params and artifacts, so it may hold only what is known to be
    no secret: a scheme, a user name (for a database), a host, a port, a path or database, and the query
    keys SAFE_QUERY_KEYS. The message names the part, never its value."""
    parts = urllib.parse.urlsplit(uri)
    database = parts.scheme.split("+")[0] in DATABASE_SCHEMES
    problem = None
    if parts.password is not None:
        problem = "a password in its user info"
    elif parts.username is not None and not database:
        problem = f"user info in a {parts.scheme or 'plain'} URI (a token, to the server)"
    elif parts.fragment:
        problem = "a fragment (#...)"
    else:
        keys = sorted({name for name, _ in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)})
        unknown = [name for name in keys if name.lower() not in SAFE_QUERY_KEYS]
        if unknown:
            problem = (
                f"the query key {unknown[0]!r}, not one known to hold no secret (allowed: "
                + ", ".join(sorted(SAFE_QUERY_KEYS))
                + ")"
            )
    if problem:
        raise ConfigError(
            f"{where}: the URI carries {problem}, and a URI is written to logs and artifacts; {CREDENTIALS_HINT}"
        )


def check_bernoulli_inputs(pretraining: SearchSpace, preprocessing: SearchSpace) -> None:
    """Bernoulli visible units need inputs in [0, 1]; of the transforms only `uniformize` guarantees
    that, so an RBM fixed to Bernoulli units would fail every first-layer trial when no candidate
    pipeline ends with it (raw data, pipeline "none", may lie in [0, 1] and is not judged here)."""
    visible = pretraining.distributions["rbm_visible"]
    if "rbm" not in candidate_values(pretraining.distributions["algorithm"]) or visible != Fixed("bernoulli"):
        return
    pipelines = [str(p) for p in candidate_values(preprocessing.distributions["pipeline"])]
    if all(p != NO_TRANSFORM and transforms_of(p)[-1] != "uniformize" for p in pipelines):
        raise ConfigError(
            "pretrain.space.rbm_visible: bernoulli needs first-layer inputs in [0, 1], but no candidate of "
            f"preprocess.space.pipeline ({', '.join(pipelines)}) ends with uniformize, the transform that maps "
            "features into [0, 1]; allowed: auto or gaussian, or add a pipeline ending with uniformize"
        )


def check_halving(settings: dict, space: SearchSpace, where: str) -> None:
    """Each rung must train at least one epoch more than the one below: the shortest max_epochs the
    space can give must reach eta^(rungs - 1)."""
    if settings["rungs"] == 1:
        return
    shortest = min(candidate_values(space.distributions["max_epochs"]))
    needed = math.ceil(settings["eta"] ** (settings["rungs"] - 1) - 1e-9)
    if shortest < needed:
        raise ConfigError(
            f"{where}.rungs: {settings['rungs']} rungs with eta {settings['eta']:g} need max_epochs of at least "
            f"{needed} (eta^(rungs - 1)), but finetune.space.max_epochs can be {shortest:g}; allowed: fewer rungs, "
            f"a smaller eta or a larger max_epochs"
        )


def check_config(config: dict) -> None:
    """Raises ConfigError for the first problem found; returns quietly for a usable config."""
    check_tracking_uri(config["tracking"]["uri"], "tracking.uri")
    data = config["data"]
    if data["source"] == "file" and not data.get("path"):
        raise ConfigError("data.path: required when data.source is 'file'")
    if data.get("generator_seed") is not None and data["source"] != "mnist1d":
        raise ConfigError(f"data.generator_seed: only for data.source mnist1d, not {data['source']!r}; allowed: null")
    spaces = {}
    for key in STAGES:
        spaces[key] = check_space(config[key]["space"], hyperparameters.defaults(key), f"{key}.space")
        check_strategy(config[key]["strategy"], spaces[key], f"{key}.strategy")
    check_bernoulli_inputs(spaces["pretrain"], spaces["preprocess"])
    check_halving(config["finetune"]["halving"], spaces["finetune"], "finetune.halving")
    stage = config["pretrain"]
    if not stage["layers"]:
        if not config["finetune"]["no_pretraining_arm"]:
            raise ConfigError(
                "finetune.no_pretraining_arm: false leaves nothing to fine-tune when pretrain.layers is 0; "
                "allowed: true, or pretrain.layers >= 1"
            )
        return
    first_round = first_round_size(stage["strategy"], spaces["pretrain"], config["seed"], stage["trials_per_parent"])
    trials = first_round * stage["strategy"]["rounds"]
    if stage["top_k"] > trials:
        raise ConfigError(
            f"pretrain.top_k ({stage['top_k']}) exceeds the {trials} trials of the first layer "
            f"(trials_per_parent, or the grid's size, times rounds); allowed: 1..{trials}"
        )
