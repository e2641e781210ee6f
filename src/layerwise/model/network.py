"""The final model's network file (model.pt): one fine-tuned network, or an ensemble of networks of one
architecture, rebuilt from its own checkpoint."""

import torch

from layerwise.learn.models import Ensemble, build_classifier


def load_network(weights_path: str) -> tuple[torch.nn.Module, dict]:
    """A fine-tuned network (or an ensemble of networks of one architecture) rebuilt from its own
    checkpoint, and its architecture."""
    checkpoint = torch.load(weights_path, weights_only=True)
    architecture = checkpoint["architecture"]
    if "members" in checkpoint:
        states = checkpoint["members"]
        return Ensemble(
            [network_from({"architecture": architecture, "state_dict": s}) for s in states]
        ).eval(), architecture
    return network_from(checkpoint), architecture


def network_from(checkpoint: dict) -> torch.nn.Module:
    """The network a checkpoint ({"architecture", "state_dict"}) holds, in evaluation mode."""
    model = build_classifier(checkpoint["architecture"])
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval()


def save_ensemble(member_weights: list[str], path: str) -> None:
    """One checkpoint of the members' networks (one architecture), which load_network rebuilds."""
    checkpoints = [torch.load(weights, weights_only=True) for weights in member_weights]
    torch.save(
        {"architecture": checkpoints[0]["architecture"], "members": [c["state_dict"] for c in checkpoints]}, path
    )
