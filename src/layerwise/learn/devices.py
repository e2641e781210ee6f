"""Where trials train: the config's `device` (auto, cpu or cuda) made a torch device on the machine a job runs on."""

from layerwise.errors import UserError

DEVICES = ("auto", "cpu", "cuda")


class DeviceError(UserError, RuntimeError):
    """The config asks for a device this machine does not have."""


def resolve_device(name: str):
    """The torch.device: `auto` is the GPU where torch sees one and the CPU elsewhere; `cuda` without a
    GPU is an error, not a silent fall-back that would give other numbers at another speed."""
    import torch  # here: the command line offers DEVICES without paying for torch

    if name not in DEVICES:
        raise DeviceError(f"device: {name!r} is not one of {', '.join(DEVICES)}")
    cuda = torch.cuda.is_available()
    if name == "cuda" and not cuda:
        raise DeviceError(
            "device: cuda, but torch sees no CUDA device on this machine (a CPU build of torch, no GPU, "
            "or no GPU allocated to this job); use device: auto or cpu"
        )
    return torch.device("cuda" if name == "cuda" or (name == "auto" and cuda) else "cpu")
