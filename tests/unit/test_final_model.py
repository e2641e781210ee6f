"""What the final network can be: the no-pretraining arm's own width and depth, an ensemble of
members, and the logistic baseline reported beside it."""

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from layerwise.learn.models import Ensemble, build_classifier
from layerwise.model.network import load_network, network_from, save_ensemble
from layerwise.present.summary_page import why_chosen
from layerwise.records import TrialRecord
from layerwise.stages import finetune
from layerwise.stages.baseline import C_GRID, as_network, cross_fitted_wrong, logistic_baseline, logistic_regression
from layerwise.stages.choice import choose, folds
from layerwise.stages.inputs import Tensors

STACK = {
    "layers": [{"n_in": 6, "n_hidden": 5, "activation": "tanh", "weight": torch.zeros(5, 6), "bias": torch.zeros(5)}]
}


@dataclass
class Inputs:
    train: Tensors
    n_classes: int = 3
    device: torch.device = torch.device("cpu")

    def stack(self, rank):
        return STACK if rank is not None else {"layers": []}


def trial(parent_rank, **params):
    return TrialRecord.planned("finetune", 0, 0, 0, parent_rank, 1, {**finetune.DEFAULTS, **params})


INPUTS = Inputs(Tensors(torch.zeros(4, 6), torch.zeros(4, dtype=torch.long)))


@pytest.mark.parametrize("layers", [0, 1, 3])
def test_the_no_pretraining_arm_builds_its_own_width_and_depth(layers):
    params = {**finetune.DEFAULTS, "hidden_layers": layers, "hidden_units": 7, "activation": "tanh"}
    architecture = finetune.architecture(INPUTS, None, params)
    network = build_classifier(architecture)
    linears = [module for module in network if isinstance(module, torch.nn.Linear)]
    assert [(linear.in_features, linear.out_features) for linear in linears] == (
        [(6, 7)] + [(7, 7)] * (layers - 1) + [(7, 3)] if layers else [(6, 3)]  # 0: a softmax regression
    )


def test_a_pretrained_arm_takes_its_stack_shape_and_records_no_shape_of_its_own():
    resolved = finetune.resolve(trial(0, hidden_layers=3, hidden_units=99), INPUTS, {})
    assert not set(finetune.ARCHITECTURE) & set(resolved.params)
    assert finetune.architecture(INPUTS, 0, resolved.params)["layers"] == [
        {"n_in": 6, "n_hidden": 5, "activation": "tanh"}
    ]
    alone = finetune.resolve(trial(None, hidden_layers=3), INPUTS, {})
    assert alone.params["hidden_layers"] == 3


def test_trials_of_different_shapes_never_share_a_pack():
    shapes = ({"hidden_units": 8}, {"hidden_units": 16}, {"hidden_layers": 1}, {"activation": "tanh"}, {"dropout": 0.5})
    keys = [finetune.pack_key(trial(None, **shape), INPUTS) for shape in shapes]
    assert len(set(keys[:4])) == 4 and keys[4] == finetune.pack_key(trial(None), INPUTS)  # dropout: its own
    on_a_stack = [finetune.pack_key(finetune.resolve(trial(0, **shape), INPUTS, {}), INPUTS) for shape in shapes]
    assert len(set(on_a_stack)) == 1  # the stack's shape for all (as a shard resolves them first)


def test_an_ensemble_averages_its_members_class_probabilities(tmp_path):
    torch.manual_seed(0)
    architecture = {"n_in": 4, "layers": [{"n_in": 4, "n_hidden": 3, "activation": "relu"}], "n_classes": 2}
    networks = [build_classifier(architecture) for _ in range(3)]
    x = torch.randn(10, 4)
    expected = torch.stack([torch.softmax(network(x), 1) for network in networks]).mean(0)
    with torch.no_grad():
        assert torch.allclose(torch.softmax(Ensemble(networks)(x), 1), expected, atol=1e-6)
    paths = []
    for index, network in enumerate(networks):
        paths.append(str(tmp_path / f"seed{index}.pt"))
        torch.save({"architecture": architecture, "state_dict": network.state_dict()}, paths[-1])
    save_ensemble(paths, str(tmp_path / "model.pt"))
    loaded, loaded_architecture = load_network(str(tmp_path / "model.pt"))
    assert loaded_architecture == architecture
    with torch.no_grad():
        assert torch.allclose(loaded(x), Ensemble(networks)(x), atol=1e-6)


def scored(checkpoint: dict, split) -> float:
    """The accuracy of a baseline checkpoint's network on a numpy (x, y) split."""
    with torch.no_grad():
        predicted = network_from(checkpoint)(torch.as_tensor(split[0])).argmax(1).numpy()
    return float((predicted == split[1]).mean())


def test_the_logistic_baseline_chooses_its_regularisation_on_validation_data_then_refits_on_both():
    rng = np.random.default_rng(0)

    def split(rows):
        y = rng.integers(0, 2, rows)
        return (rng.normal(size=(rows, 5)) + 2.0 * y[:, None]).astype(np.float32), y

    train, valid, test = split(200), split(100), split(100)
    baseline, checkpoint, wrong = logistic_baseline(train, valid, 2)
    assert baseline["C"] in C_GRID and 0.0 <= baseline["valid_error"] < 0.2
    assert wrong.shape == (100,) and wrong.mean() == pytest.approx(baseline["valid_error"])
    assert scored(checkpoint, test) > 0.9
    noise = (rng.normal(size=(200, 5)).astype(np.float32), rng.integers(0, 2, 200))
    # refit on train + valid, as the reported network: what only the validation rows teach shows on test
    assert scored(logistic_baseline(noise, split(200), 2)[1], split(100)) > 0.8


@pytest.mark.parametrize("n_classes", [2, 3, 4])
def test_the_logistic_baseline_as_a_network_gives_its_class_probabilities(n_classes):
    rng = np.random.default_rng(n_classes)
    y = rng.integers(0, 3 if n_classes == 4 else n_classes, 300)  # with 4: a class the data never has
    x = (rng.normal(size=(300, 6)) + y[:, None] * rng.normal(size=6)).astype(np.float32)
    model = logistic_regression(1.0).fit(x, y)
    network = network_from(as_network(model, 6, n_classes))
    with torch.no_grad():
        probabilities = torch.softmax(network(torch.as_tensor(x)), 1).numpy()
    assert probabilities.shape == (300, n_classes)
    assert np.allclose(probabilities[:, model.classes_], model.predict_proba(x), atol=1e-5)
    assert (probabilities.argmax(1) == model.predict(x)).all()


def rows_wrong(errors: int, rows: int = 100, offset: int = 0) -> np.ndarray:
    """`errors` wrong rows among `rows`, from row `offset` on."""
    wrong = np.zeros(rows, dtype=bool)
    wrong[offset : offset + errors] = True
    return wrong


def test_the_final_model_is_the_simplest_candidate_within_one_paired_standard_error_of_the_best():
    # The ensemble errs on 10 rows, one network on those and 2 more: 2/100 apart, the paired standard
    # error 0.014: the network is not within. The baseline errs on 30 rows: far behind.
    wrong = {"linear": rows_wrong(30), "member": rows_wrong(12), "ensemble": rows_wrong(10)}
    choice = choose(wrong, one_se_rule=True)
    assert choice["best"] == "ensemble" and choice["chosen"] == "ensemble"
    assert choice["standard_errors"]["member"] == pytest.approx(np.sqrt(0.02 * 0.98 * 100 / 99) / 10)
    wrong["member"] = rows_wrong(11)  # one row more than the ensemble: within its standard error (0.01)
    assert choose(wrong, one_se_rule=True)["chosen"] == "member"
    assert choose(wrong, one_se_rule=False)["chosen"] == "ensemble"  # without the rule: the best
    # On the same number of errors but other rows the difference is noisier: the simpler one is within.
    assert choose({"linear": rows_wrong(12, offset=50), "member": rows_wrong(10)}, True)["chosen"] == "linear"
    assert choose({"linear": rows_wrong(12), "member": rows_wrong(10)}, True)["chosen"] == "member"


def test_a_perfect_candidate_leaves_one_row_of_doubt_not_none():
    # The old binomial rule's standard error was 0 for a network that made no validation error: one row
    # worse was then significantly worse. The floor is one row.
    choice = choose({"linear": rows_wrong(1, rows=29), "member": rows_wrong(0, rows=29)}, one_se_rule=True)
    assert choice["standard_errors"]["linear"] == pytest.approx(1 / 29) and choice["chosen"] == "linear"
    assert choose({"linear": rows_wrong(2, rows=29), "member": rows_wrong(0, rows=29)}, True)["chosen"] == "member"


@pytest.mark.parametrize(("labels", "stratified"), [(np.repeat([0, 1, 2], [40, 25, 15]), True), ([0] * 9 + [1], False)])
def test_cross_fitting_judges_every_labelled_row_once_by_a_fit_that_never_saw_it(labels, stratified):
    labels = np.asarray(labels)
    parts = folds(labels, 4, seed=7)
    held = np.concatenate([rows for _, rows in parts])
    assert sorted(held) == list(range(len(labels)))  # each row in exactly one fold
    assert all(set(kept).isdisjoint(rows) and len(kept) + len(rows) == len(labels) for kept, rows in parts)
    if stratified:  # every class in every fold, in proportion
        assert all(np.bincount(labels[rows], minlength=3).min() >= 3 for _, rows in parts)
    assert all((a[1] == b[1]).all() for a, b in zip(parts, folds(labels, 4, seed=7), strict=True))  # a seed's folds
    assert not all((a[1] == b[1]).all() for a, b in zip(parts, folds(labels, 4, seed=8), strict=True))


def test_the_cross_fitted_baseline_errs_where_its_fit_without_the_row_errs():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 120)
    x = (rng.normal(size=(120, 4)) + 1.0 * y[:, None]).astype(np.float32)
    parts = folds(y, 3, seed=0)
    wrong = cross_fitted_wrong(x, y, parts, c=1.0)
    for kept, held in parts:
        fit = logistic_regression(1.0).fit(x[kept], y[kept])
        assert (wrong[held] == (fit.predict(x[held]) != y[held])).all()
    fitted_on_all = logistic_regression(1.0).fit(x, y).predict(x) != y
    assert wrong.mean() > fitted_on_all.mean()  # judged on rows it never saw: no flattering


@pytest.mark.parametrize(
    ("folds", "words"),
    [
        (4, "the 100 labelled rows, each judged by models cross-fitted without its fold (4 folds)"),
        (0, "the 100 validation rows"),
    ],
)
def test_the_summary_says_on_which_rows_the_final_model_was_chosen(folds, words):
    choice = choose({"linear": rows_wrong(30), "ensemble": rows_wrong(10)}, one_se_rule=True) | {"folds": folds}
    said = why_chosen(choice, "the ensemble")
    assert said.startswith(f"Final model chosen on {words}")
    assert (
        "the logistic baseline 0.3000 (± 0.0402 from the best); the ensemble of the seed study's networks 0.1000"
        in said
    )
    assert said.endswith("the simplest within one paired standard error of the best, the ensemble.")
