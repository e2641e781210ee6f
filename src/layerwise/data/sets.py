"""Data sets: the built-in ones and user files (read and checked by tables.py), split into train /
validation / test.

Splits are stratified and seeded; the test part is written to its own file so that
only evaluation ever opens it.
"""

from dataclasses import dataclass

import numpy as np

from layerwise.data.tables import MISSING_HINT, DataError, array_columns, load_table, refuse_non_finite

# pandas and scikit-learn are imported where they are used: a shard only reads split files, and
# every job pays its imports.
BUILTIN = ("mnist1d", "digits")


UNLABELLED = -1  # the label code of an unlabelled row, in its split file


@dataclass
class Split:
    x: np.ndarray
    y: np.ndarray


def load_builtin(name: str, generator_seed: int | None = None):
    """(x, y, x_test, y_test) of a data set generated locally; nothing is downloaded. MNIST-1D is drawn
    by its generator with `generator_seed` (None: the package's own seed, its published data set)."""
    if name == "mnist1d":
        from mnist1d.data import get_dataset_args, make_dataset

        args = get_dataset_args()
        if generator_seed is not None:
            args.seed = generator_seed
        data = make_dataset(args)
        return data["x"], data["y"], data["x_test"], data["y_test"]
    if name == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        return digits.data, digits.target, None, None
    raise DataError(f"data.source is {name!r}; allowed values: {', '.join(BUILTIN)}, file")


def unlabelled_rows(y: np.ndarray) -> np.ndarray:
    """Whether each row's label is missing (an empty cell, NaN or None)."""
    import pandas as pd

    return pd.isna(y)


def split_unlabelled(x: np.ndarray, y: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labelled features, their labels, unlabelled features); DataError when no row has a label."""
    missing = unlabelled_rows(y)
    if missing.all():
        raise DataError(
            f"{where}: no row has a label ({len(y)} rows, every label empty); the search needs labelled rows "
            f"to fine-tune and judge on, and uses unlabelled ones beside them"
        )
    labels = y[~missing]
    if missing.any() and labels.dtype.kind == "f" and np.all(labels == np.round(labels)):
        labels = labels.astype(np.int64)  # integer labels with empty cells were read as floats
    return x[~missing], labels, x[missing]


def checked_shape(x, y, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Features as float64 and labels as arrays, once they are a 2-D array and one label per row."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y)
    if x.ndim != 2 or y.ndim != 1 or len(x) != len(y):
        raise DataError(f"{where}: expected a 2-D feature array and one label per row, got {x.shape} and {y.shape}")
    return x, y


def check_arrays(x: np.ndarray, y: np.ndarray, where: str, columns: list[str], allow_missing: bool) -> None:
    """The features are finite (or missing, where allowed) and the labels hold two classes at least."""
    refuse_non_finite(x, where, columns, allow_missing, MISSING_HINT)
    check_classes(y, where)


def check_classes(y: np.ndarray, where: str) -> None:
    if len(np.unique(y)) < 2:
        raise DataError(f"{where}: labels hold a single class; a classifier needs at least two")


def encode_labels(y_train: np.ndarray, y_test: np.ndarray):
    """Labels as 0..C-1; a test label never seen in training is an error, not a silent new class."""
    classes = np.unique(y_train)
    unseen = sorted(set(np.unique(y_test).tolist()) - set(classes.tolist()))
    if unseen:
        raise DataError(f"test labels never seen in training: {unseen[:10]}")
    return np.searchsorted(classes, y_train), np.searchsorted(classes, y_test), classes


def load_and_split(
    source: str,
    seed: int,
    valid_fraction: float,
    test_fraction: float,
    path: str | None = None,
    test_path: str | None = None,
    label_column: str = "label",
    allow_missing: bool = False,
    generator_seed: int | None = None,
    unlabelled_path: str | None = None,
) -> dict:
    """Train, valid and test Splits (float32 features, int64 labels 0..C-1) of the labelled rows, the
    unlabelled rows (a Split whose labels are all UNLABELLED: the rows of `path` with an empty label, then
    those of `unlabelled_path`), the class labels (in their original type, in the order of their codes)
    and the feature columns' names."""
    if source == "file":
        if not path:
            raise DataError("data.path is required when data.source is 'file'")
        x, y, columns = load_table(path, label_column)
        x_test, y_test, test_columns = load_table(test_path, label_column) if test_path else (None, None, None)
    else:
        x, y, x_test, y_test = load_builtin(source, generator_seed)
        columns = test_columns = array_columns(np.shape(x)[1])
    where = path or source
    x, y = checked_shape(x, y, where)
    refuse_non_finite(x, where, columns, allow_missing, MISSING_HINT)  # every row, named by its row in the file
    x, y, x_unlabelled = split_unlabelled(x, y, where)
    check_classes(y, where)
    if x_test is None:
        x, x_test, y, y_test = stratified_split(x, y, test_fraction, seed, "test", where)
    else:
        x_test, y_test = checked_shape(x_test, y_test, test_path or f"{source} test")
        unlabelled = np.flatnonzero(unlabelled_rows(y_test))
        if len(unlabelled):
            raise DataError(
                f"{test_path}: row {unlabelled[0] + 1} has no label ({len(unlabelled)} rows in all); every row of a "
                f"test file needs one (unlabelled rows belong in data.path or data.unlabelled_path)"
            )
        check_arrays(x_test, y_test, test_path or f"{source} test", columns, allow_missing)
        if x_test.shape[1] != x.shape[1]:
            raise DataError(f"train has {x.shape[1]} features but test has {x_test.shape[1]}")
        check_same_columns(columns, test_columns, path, test_path)
    if unlabelled_path:
        x_more, _, more_columns = load_table(unlabelled_path, label_column, labels=False)
        x_more = np.asarray(x_more, dtype=np.float64)
        check_same_columns(columns, more_columns, where, unlabelled_path)
        refuse_non_finite(x_more, unlabelled_path, columns, allow_missing, MISSING_HINT)
        x_unlabelled = np.concatenate([x_unlabelled, x_more])
    y, y_test, classes = encode_labels(y, np.asarray(y_test))
    x_train, x_valid, y_train, y_valid = stratified_split(x, y, valid_fraction, seed + 1, "validation", where)
    as_split = lambda a, b: Split(a.astype(np.float32), b.astype(np.int64))
    return {
        "train": as_split(x_train, y_train),
        "valid": as_split(x_valid, y_valid),
        "test": as_split(x_test, y_test),
        "unlabelled": as_split(x_unlabelled, np.full(len(x_unlabelled), UNLABELLED)),
        "classes": classes,
        "columns": columns,
    }


def check_same_columns(columns: list[str], other: list[str], path: str, other_path: str) -> None:
    """The model reads columns by name: another file of the same data must name the same, in order."""
    if other != columns:
        only, other_only = sorted(set(columns) - set(other)), sorted(set(other) - set(columns))
        differ = f"only in {path}: {only}; only in {other_path}: {other_only}" if only or other_only else "in order"
        raise DataError(f"{other_path}: its feature columns differ from those of {path} ({differ})")


def check_source(data: dict, seed: int, allow_missing: bool) -> None:
    """Raises DataError for a data section whose files cannot be loaded and split (config keys as in
    the `data` section: source, path, test_path, unlabelled_path, label_column, valid_fraction,
    test_fraction, generator_seed)."""
    load_and_split(
        data["source"], seed, data["valid_fraction"], data["test_fraction"], data.get("path"), data.get("test_path"),
        data["label_column"], allow_missing, data.get("generator_seed"), data.get("unlabelled_path"),
    )  # fmt: skip


def stratified_split(x, y, fraction: float, seed: int, name: str, where: str):
    """A stratified split of `fraction` of the rows; DataError naming `where` (the file) when the rows
    are too few for it: every class needs a row on each side."""
    from sklearn.model_selection import train_test_split

    try:
        return train_test_split(x, y, test_size=fraction, random_state=seed, stratify=y)
    except ValueError as error:
        counts = sorted(zip(*np.unique(y, return_counts=True), strict=True), key=lambda pair: pair[1])
        rarest = ", ".join(f"{label!r}: {count}" for label, count in counts[:3])
        raise DataError(
            f"{where}: cannot carve a stratified {name} split of {fraction} from {len(y)} rows in "
            f"{len(counts)} classes (the rarest: {rarest}); every class needs a row on each side"
        ) from error


def save_split(split: Split, path: str) -> None:
    np.savez(path, x=split.x, y=split.y)


def read_split(path: str) -> Split:
    with np.load(path) as arrays:
        return Split(arrays["x"], arrays["y"])
