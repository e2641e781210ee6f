"""What every figure shares: matplotlib without a display, the marks of failed and best trials, and
how a figure is laid out and saved.

Every figure reads trial records (shard.run_one) or selection files, never MLflow, so it can be drawn
again from the results folder alone. Failed trials are drawn as red crosses along the top edge, where
an objective they do not have would be.
"""

import math

import matplotlib

from layerwise.records import TrialRecord
from layerwise.status import Status

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402

FAILED = {"marker": "x", "color": "tab:red", "label": "failed"}
BEST = {"marker": "*", "s": 120, "color": "gold", "edgecolor": "black", "zorder": 3, "label": "best"}
DPI = 150
# The mark of a figure with nothing to draw (its PNG's Description): the workflow declares every figure,
# but `layerwise best` lists only those that show something.
EMPTY_FIGURE = "layerwise: nothing to draw"


def draws_something(path) -> bool:
    from PIL import Image

    with Image.open(path) as image:
        return image.info.get("Description") != EMPTY_FIGURE


def save(figure, path: str, metadata: dict | None = None) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=DPI, metadata=metadata)
    plt.close(figure)


def panels(count: int, columns: int = 3, size: tuple = (3.8, 2.9)):
    """A figure with `count` panels in rows of `columns`; the spare ones hidden."""
    rows, columns = math.ceil(count / columns), min(count, columns)
    figure, axes = plt.subplots(rows, columns, figsize=(size[0] * columns, size[1] * rows), squeeze=False)
    for axis in axes.flat[count:]:
        axis.set_visible(False)
    return figure, list(axes.flat[:count])


def empty(path: str, title: str, message: str) -> None:
    figure, axis = plt.subplots(figsize=(5, 2))
    axis.axis("off")
    axis.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    axis.set_title(title)
    save(figure, path, metadata={"Description": EMPTY_FIGURE})


def finished(records: list[TrialRecord]) -> list[TrialRecord]:
    return [record for record in records if record.finished]


def failed(records: list[TrialRecord]) -> list[TrialRecord]:
    return [record for record in records if record.status == Status.FAILED]


def mark_failed(axis, xs: list) -> None:
    if xs:
        axis.scatter(xs, [0.97] * len(xs), transform=axis.get_xaxis_transform(), **FAILED)
