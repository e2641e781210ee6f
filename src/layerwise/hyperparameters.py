"""Every hyper-parameter the stages search, in one table.

An entry says which values the hyper-parameter may take (the config check, and the words its errors
and the schema's "allowed:" use), its default in each stage that searches it (the stages' spaces),
and how far `extend_on_border` may widen a searched range (`widest`: what still trains). The
vocabularies of the symbolic ones are here too; the modules that implement them key their objects by
these names. Which pretraining algorithm uses which knob is each learner's `uses`
(learn/learners.py). Tests check the implementations (test_hyperparameters), the schema's
descriptions (test_schema_docs) and the docs' reference (test_docs) against this table.

Torch-free: Snakemake's own process checks a config with it.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

STAGES = ("preprocess", "pretrain", "finetune")

# The vocabularies of the symbolic hyper-parameters.
TRANSFORMS = ("impute", "standardize", "pca", "uniformize", "log1p", "sqrt")
NO_TRANSFORM = "none"  # the pipeline that leaves the input as it is
IMPUTE_STRATEGIES = ("median", "mean", "most_frequent")
ALGORITHMS = ("none", "autoencoder", "denoising_autoencoder", "sparse_autoencoder", "rbm")
ACTIVATIONS = ("sigmoid", "tanh", "relu", "hard_tanh", "softplus")
INIT_RULES = ("fan_avg", "fan_in")
INIT_DISTRIBUTIONS = ("uniform", "normal")
SCHEDULES = ("constant", "inverse_time", "inverse_time_epochs")
CORRUPTIONS = ("masking", "gaussian")
RECONSTRUCTIONS = ("squared_error", "cross_entropy")
VISIBLE_UNITS = ("auto", "bernoulli", "gaussian")
LAYER_GROUPS = ("input", "hidden", "output")  # fine-tuning's weight-decay groups: first, between, output layer


def transforms_of(pipeline: str) -> list[str]:
    """The names a pipeline string joins with '+', in order; [] for the pipeline "none"."""
    return [] if pipeline == NO_TRANSFORM else pipeline.split("+")


@dataclass(frozen=True)
class HyperParameter:
    """One hyper-parameter: what it may be whatever a search space says, and its defaults."""

    accepts: Callable[[object], bool]
    allowed: str  # the values `accepts` takes, in words
    defaults: Mapping[str, object]  # stage -> its default there, for each stage that searches it
    integer: bool = False  # searched with type: int; a float such as 3.0 stands for 3
    widest: tuple[float, float] | None = None  # how far extend_on_border may widen a range; None: never

    def as_given(self, value):
        """The value a config means: a whole float (a range's end) of an integer one is that integer."""
        return int(value) if self.integer and isinstance(value, float) and value.is_integer() else value

    def admits(self, value) -> bool:
        """Whether the config check lets `value` through (a value `accepts` cannot compare: no)."""
        try:
            return bool(self.accepts(self.as_given(value)))
        except TypeError:
            return False


def both(value) -> dict:
    """The same default in pretraining and fine-tuning."""
    return {"pretrain": value, "finetune": value}


def whole(low: int, high: int | None, defaults: Mapping, widest=None, allowed: str | None = None) -> HyperParameter:
    """An integer in low..high (no upper end: high None)."""
    words = f"an integer in {low}..{high}" if high is not None else f"an integer >= {low}"
    return HyperParameter(
        lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v and (high is None or v <= high),
        allowed or words,
        defaults,
        integer=True,
        widest=widest,
    )


def one_of(names: tuple, defaults: Mapping) -> HyperParameter:
    return HyperParameter(lambda v: v in names, f"one of {', '.join(names)}", defaults)


def flag(defaults: Mapping) -> HyperParameter:
    return HyperParameter(lambda v: isinstance(v, bool), "true or false", defaults)


def positive(defaults: Mapping, widest) -> HyperParameter:
    return HyperParameter(lambda v: v > 0, "a number > 0", defaults, widest=widest)


def fraction(defaults: Mapping, widest) -> HyperParameter:
    """A probability-like level in [0, 1)."""
    return HyperParameter(lambda v: 0 <= v < 1, "a number in [0, 1)", defaults, widest=widest)


def penalty(defaults: Mapping) -> HyperParameter:
    """A coefficient of a penalty: 0 turns it off."""
    return HyperParameter(lambda v: v >= 0, "a number >= 0", defaults, widest=(0.0, 1e4))


def is_pipeline(value) -> bool:
    return isinstance(value, str) and all(name in TRANSFORMS for name in transforms_of(value))


def is_components(value) -> bool:
    if isinstance(value, bool):
        return False
    return (isinstance(value, int) and value >= 1) or (isinstance(value, float) and 0 < value < 1)


TABLE: dict[str, HyperParameter] = {
    # Preprocessing.
    "pipeline": HyperParameter(
        is_pipeline, f"{NO_TRANSFORM}, or transforms joined by '+' from: {', '.join(TRANSFORMS)}",
        {"preprocess": "standardize"},
    ),
    "pca_components": HyperParameter(
        is_components, "a fraction of variance in (0, 1), or an integer number of components >= 1",
        {"preprocess": 0.99},
    ),
    "impute_strategy": one_of(IMPUTE_STRATEGIES, {"preprocess": "median"}),
    "impute_indicator": flag({"preprocess": False}),
    # Pretraining and fine-tuning.
    "algorithm": one_of(ALGORITHMS, {"pretrain": "denoising_autoencoder"}),
    "hidden_units": whole(1, 65536, both(256), widest=(1, 65536)),
    "learning_rate": positive(both(0.01), widest=(1e-8, 10.0)),
    "momentum": fraction(both(0.9), widest=(0.0, 0.9999)),
    "corruption": fraction({"pretrain": 0.2}, widest=(0.0, 0.95)),
    "epochs": whole(1, 100_000, {"pretrain": 20}, widest=(1, 10_000)),
    "batch_size": whole(1, 1_000_000, both(32), widest=(1, 100_000)),
    "activation": one_of(ACTIVATIONS, {"pretrain": "sigmoid", "finetune": "relu"}),
    "l1": penalty({"pretrain": 0.0}),
    "l2": penalty({"pretrain": 0.0}),
    **{f"{kind}_{group}": penalty({"finetune": 0.0}) for kind in ("l1", "l2") for group in LAYER_GROUPS},
    "proximal_l1": flag(both(False)),
    "init_scale": positive(both(1.0), widest=(1e-3, 100.0)),
    "init_rule": one_of(INIT_RULES, both("fan_avg")),
    "init_distribution": one_of(INIT_DISTRIBUTIONS, both("uniform")),
    "nesterov": flag(both(False)),
    "bias_lr_scale": positive(both(1.0), widest=(1e-3, 100.0)),
    "lr_schedule": one_of(SCHEDULES, both("constant")),
    "lr_tau": HyperParameter(lambda v: v >= 1, "a number of updates >= 1", both(1000), widest=(1, 1e9)),
    "lr_tau_epochs": whole(1, None, both(10), widest=(1, 10_000), allowed="an integer number of epochs >= 1"),
    "patience": whole(0, None, {"pretrain": 0}, allowed="an integer >= 0 (0: no early stopping)"),
    "corruption_type": one_of(CORRUPTIONS, {"pretrain": "masking"}),
    "reconstruction": one_of(RECONSTRUCTIONS, {"pretrain": "squared_error"}),
    "sparsity_l1": penalty({"pretrain": 0.0}),
    "sparsity_kl": penalty({"pretrain": 0.0}),
    "sparsity_target": HyperParameter(
        lambda v: 0 < v < 1, "a number in (0, 1)", {"pretrain": 0.05}, widest=(1e-4, 0.5)
    ),
    "sparsity_student_t": penalty({"pretrain": 0.0}),
    "cd_k": whole(1, 1000, {"pretrain": 1}, widest=(1, 100)),
    "rbm_visible": one_of(VISIBLE_UNITS, {"pretrain": "auto"}),
    # Fine-tuning only.
    "max_epochs": whole(1, 100_000, {"finetune": 100}, widest=(1, 10_000)),
    "dropout": fraction({"finetune": 0.0}, widest=(0.0, 0.95)),
    "layer_lr_decay": positive({"finetune": 1.0}, widest=(1e-3, 10.0)),
    "hidden_layers": whole(0, 64, {"finetune": 2}, allowed="an integer in 0..64 (0: a softmax on the input)"),
}  # fmt: skip


def defaults(stage: str) -> dict:
    """The hyper-parameters stage `stage` searches, each with its default there."""
    return {name: entry.defaults[stage] for name, entry in TABLE.items() if stage in entry.defaults}
