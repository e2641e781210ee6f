"""Training loops: SGD with momentum on in-memory tensors, early stopping, divergence detection."""

import copy
import math

import torch
from torch import nn


class Diverged(RuntimeError):
    """The training loss became NaN or infinite."""


def make_sgd(model: nn.Module, learning_rate: float, momentum: float, weight_decay: float) -> torch.optim.SGD:
    """SGD whose L2 penalty reaches weights only, never biases (Bengio 2012, section 3.2)."""
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    others = [p for name, p in model.named_parameters() if not name.endswith("weight")]
    groups = [{"params": weights, "weight_decay": weight_decay}, {"params": others, "weight_decay": 0.0}]
    return torch.optim.SGD(groups, lr=learning_rate, momentum=momentum)


def train_epoch(model, loss_fn, inputs, targets, batch_size: int, optimizer, generator) -> float:
    """One pass in a seeded random order; returns the mean training loss."""
    model.train()
    order = torch.randperm(len(inputs), generator=generator)
    total = 0.0
    for start in range(0, len(inputs), batch_size):
        batch = order[start : start + batch_size]
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(inputs[batch]), targets[batch])
        loss.backward()
        optimizer.step()
        total += loss.item() * len(batch)
    mean = total / len(inputs)
    if not math.isfinite(mean):
        raise Diverged(f"training loss became {mean}")
    return mean


def train_autoencoder(model, x_train, x_valid, params: dict, generator) -> dict:
    """Fits a denoising auto-encoder for `epochs`; returns per-epoch train/valid reconstruction error."""
    optimizer = make_sgd(model, params["learning_rate"], params["momentum"], params["weight_decay"])
    mse = nn.MSELoss()
    history = {"train_loss": [], "valid_loss": []}
    for _ in range(params["epochs"]):
        history["train_loss"].append(
            train_epoch(model, mse, x_train, x_train, params["batch_size"], optimizer, generator)
        )
        model.eval()
        with torch.no_grad():
            valid_loss = mse(model(x_valid), x_valid).item()
        if not math.isfinite(valid_loss):
            raise Diverged(f"validation reconstruction error became {valid_loss}")
        history["valid_loss"].append(valid_loss)
    model.eval()
    return history


def classification_error(model, x, y) -> tuple[float, float]:
    """(error rate, mean negative log-likelihood) of `model` on (x, y)."""
    model.eval()
    with torch.no_grad():
        logits = model(x)
        return (logits.argmax(1) != y).float().mean().item(), nn.functional.cross_entropy(logits, y).item()


def train_classifier(model, train, valid, params: dict, patience: int, generator) -> dict:
    """Supervised fine-tuning with early stopping on validation error; the best epoch's weights are kept."""
    optimizer = make_sgd(model, params["learning_rate"], params["momentum"], params["weight_decay"])
    history = {"train_loss": [], "valid_loss": [], "valid_error": []}
    best_error, best_epoch, best_state = math.inf, 0, copy.deepcopy(model.state_dict())
    for epoch in range(1, params["max_epochs"] + 1):
        history["train_loss"].append(
            train_epoch(
                model, nn.functional.cross_entropy, train.x, train.y, params["batch_size"], optimizer, generator
            )
        )
        error, loss = classification_error(model, valid.x, valid.y)
        if not math.isfinite(loss):
            raise Diverged(f"validation loss became {loss}")
        history["valid_error"].append(error)
        history["valid_loss"].append(loss)
        if error < best_error:
            best_error, best_epoch, best_state = error, epoch, copy.deepcopy(model.state_dict())
        elif epoch - best_epoch >= patience:
            break
    model.load_state_dict(best_state)
    return {"history": history, "best_epoch": best_epoch, "stopped_epoch": epoch, "valid_error": best_error}
