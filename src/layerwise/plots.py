"""Figures of a run, as PNG files (matplotlib, no display needed)."""

import matplotlib

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402


def seed_histogram(test_errors: list[float], ensemble_error: float, path: str) -> None:
    """Test error of the selected configuration over seeds, with the mean and the seed ensemble."""
    figure, axis = plt.subplots(figsize=(5, 3.5))
    axis.hist(test_errors, bins=max(3, len(test_errors) // 2), color="tab:blue", alpha=0.7, label="one seed each")
    mean = sum(test_errors) / len(test_errors)
    axis.axvline(mean, color="tab:blue", linestyle="--", label=f"mean {mean:.4f}")
    axis.axvline(ensemble_error, color="tab:red", label=f"ensemble {ensemble_error:.4f}")
    low, high = min(*test_errors, ensemble_error), max(*test_errors, ensemble_error)
    margin = 0.1 * (high - low) or 0.01
    axis.set_xlim(low - margin, high + margin)
    axis.yaxis.get_major_locator().set_params(integer=True)
    axis.set(xlabel="test error", ylabel="seeds", title=f"Seed study ({len(test_errors)} seeds)")
    axis.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
