import pytest
import torch

from layerwise.data.sets import Split
from layerwise.learn import stack as stacks
from layerwise.learn.epochs import Diverged
from layerwise.learn.models import ACTIVATIONS, DenoisingAutoencoder, Dropout, build_classifier, dropout_mask
from layerwise.learn.optim import SGDSettings, make_optimizer, make_schedule
from layerwise.learn.readout import ridge_readout_error
from layerwise.learn.training import train_classifier, train_unsupervised
from layerwise.stages import finetune, pretrain

AE_PARAMS = {**pretrain.DEFAULTS, "learning_rate": 0.05, "batch_size": 32, "epochs": 15}


def low_rank_data(n=400, seed=0):
    generator = torch.Generator().manual_seed(seed)
    codes = torch.randn(n, 3, generator=generator)
    return codes @ torch.randn(3, 12, generator=generator) + 0.05 * torch.randn(n, 12, generator=generator)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_autoencoder_training_lowers_reconstruction_error(activation):
    torch.manual_seed(0)
    x = low_rank_data()
    model = DenoisingAutoencoder(12, 6, activation, corruption=0.1)
    model.eval()
    before = torch.nn.functional.mse_loss(model(x), x).item()
    history = train_unsupervised(model, x[:300], x[300:], AE_PARAMS, torch.Generator().manual_seed(0))["history"]
    assert history["valid_loss"][-1] < 0.6 * before
    assert history["train_loss"][-1] < history["train_loss"][0]


def test_pretraining_stops_early_on_validation_reconstruction_and_keeps_the_best_epoch():
    torch.manual_seed(0)
    x = low_rank_data()
    params = {**AE_PARAMS, "epochs": 200, "patience": 3, "learning_rate": 0.2}
    model = DenoisingAutoencoder(12, 6, "tanh", corruption=0.3)
    result = train_unsupervised(model, x[:300], x[300:], params, torch.Generator().manual_seed(0))
    losses = result["history"]["valid_loss"]
    assert result["stopped_epoch"] < 200 and result["stopped_epoch"] - result["best_epoch"] == 3
    restored = torch.nn.functional.mse_loss(model(x[300:]), x[300:]).item()
    assert restored == pytest.approx(min(losses)) == pytest.approx(losses[result["best_epoch"] - 1])


def test_a_huge_learning_rate_is_reported_as_divergence():
    torch.manual_seed(0)
    x = low_rank_data()
    model = DenoisingAutoencoder(12, 6, "relu", corruption=0.0)
    with pytest.raises(Diverged):
        train_unsupervised(model, x, x, {**AE_PARAMS, "learning_rate": 1e4}, torch.Generator().manual_seed(0))


def test_tau_schedule_is_constant_then_one_over_t():
    model = DenoisingAutoencoder(4, 3, "tanh", corruption=0.0)
    params = {**AE_PARAMS, "learning_rate": 0.1, "lr_schedule": "inverse_time", "lr_tau": 10}
    optimizer = make_optimizer(model, SGDSettings.of(params), [(0.0, 0.0)])
    schedule = make_schedule(optimizer, SGDSettings.of(params), 1)
    rates = []
    for _ in range(40):  # the rate used by update t = 1..40
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert rates[:10] == pytest.approx([0.1] * 10)  # t <= tau: lr_0
    assert rates[19] == pytest.approx(0.1 * 10 / 20) and rates[39] == pytest.approx(0.1 * 10 / 40)


def test_epoch_schedule_is_constant_for_tau_epochs_then_one_over_the_epoch():
    model = DenoisingAutoencoder(4, 3, "tanh", corruption=0.0)
    params = {**AE_PARAMS, "learning_rate": 0.1, "lr_schedule": "inverse_time_epochs", "lr_tau_epochs": 3}
    optimizer = make_optimizer(model, SGDSettings.of(params), [(0.0, 0.0)])
    schedule = make_schedule(optimizer, SGDSettings.of(params), updates_per_epoch=5)
    rates = []
    for _ in range(6 * 5):  # six epochs of five updates
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    per_epoch = [rates[epoch * 5 : epoch * 5 + 5] for epoch in range(6)]
    assert all(len(set(epoch)) == 1 for epoch in per_epoch)  # constant within an epoch
    assert [epoch[0] for epoch in per_epoch] == pytest.approx([0.1, 0.1, 0.1, 0.1 * 3 / 4, 0.1 * 3 / 5, 0.1 * 3 / 6])


def test_fine_tuning_stops_early_and_keeps_the_best_epoch():
    torch.manual_seed(0)
    x = torch.randn(300, 5)
    y = (x[:, 0] > 0).long()
    model = build_classifier({"n_in": 5, "layers": [{"n_in": 5, "n_hidden": 8, "activation": "tanh"}], "n_classes": 2})
    params = {**finetune.DEFAULTS, "learning_rate": 0.1, "batch_size": 32, "max_epochs": 200}
    result = train_classifier(
        model, Split(x[:200], y[:200]), Split(x[200:], y[200:]), params, 5, torch.Generator().manual_seed(0), [1, 1]
    )
    errors = result["history"]["valid_error"]
    assert result["stopped_epoch"] < 200 and result["stopped_epoch"] - result["best_epoch"] == 5
    assert result["valid_error"] == min(errors) == errors[result["best_epoch"] - 1]
    model.eval()
    restored = (model(x[200:]).argmax(1) != y[200:]).float().mean().item()
    assert restored == pytest.approx(result["valid_error"])


def test_fine_tuning_breaks_ties_in_validation_error_by_validation_loss():
    """On a small validation set many epochs share the lowest error: the kept epoch is the one of
    them with the lowest loss, not the first that reached it."""
    torch.manual_seed(0)
    x = torch.randn(260, 5)
    y = (x[:, 0] > 0).long()
    model = build_classifier({"n_in": 5, "layers": [{"n_in": 5, "n_hidden": 8, "activation": "tanh"}], "n_classes": 2})
    params = {**finetune.DEFAULTS, "learning_rate": 0.1, "batch_size": 32, "max_epochs": 60}
    result = train_classifier(
        model, Split(x[:200], y[:200]), Split(x[200:], y[200:]), params, 60, torch.Generator().manual_seed(0), [1, 1]
    )
    errors, losses = result["history"]["valid_error"], result["history"]["valid_loss"]
    tied = [epoch for epoch, error in enumerate(errors, 1) if error == min(errors)]
    assert len(tied) > 1 and losses[tied[0] - 1] != min(losses[epoch - 1] for epoch in tied)  # a real tie to break
    assert result["best_epoch"] == min(tied, key=lambda epoch: losses[epoch - 1])


def test_ridge_readout_separates_informative_features_from_noise():
    torch.manual_seed(0)
    y = torch.randint(0, 3, (600,))
    informative = torch.nn.functional.one_hot(y, 3).float() + 0.1 * torch.randn(600, 3)
    noise = torch.randn(600, 3)
    assert ridge_readout_error(informative[:400], y[:400], informative[400:], y[400:], 1e-3, 3) == 0.0
    assert ridge_readout_error(noise[:400], y[:400], noise[400:], y[400:], 1e-3, 3) > 0.5


def test_dropout_is_active_in_training_only_and_pretrained_weights_land_in_place():
    spec = [{"n_in": 5, "n_hidden": 4, "activation": "relu"}, {"n_in": 4, "n_hidden": 4, "activation": "tanh"}]
    model = build_classifier({"n_in": 5, "layers": spec, "n_classes": 3, "dropout": 0.5})
    assert sum(isinstance(m, Dropout) for m in model) == 2
    layers = [
        {**s, "weight": torch.full((4, s["n_in"]), float(i + 1)), "bias": torch.zeros(4)} for i, s in enumerate(spec)
    ]
    stacks.copy_into({"layers": layers}, model)
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    assert torch.all(linears[0].weight == 1) and torch.all(linears[1].weight == 2)
    x = torch.randn(8, 5)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    torch.manual_seed(0)
    assert not torch.equal(model(x), model(x))


def test_a_dropout_mask_keeps_each_unit_with_probability_one_minus_p_and_rescales_it():
    torch.manual_seed(0)
    mask = dropout_mask((400, 500), 0.3)
    assert mask.unique().tolist() == [0.0, pytest.approx(1 / 0.7)]
    assert (mask > 0).float().mean().item() == pytest.approx(0.7, abs=0.005)
    assert mask.mean().item() == pytest.approx(1.0, abs=0.01)  # the expected activation is unchanged
