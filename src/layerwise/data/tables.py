"""A user's file as a table of numbers: CSV, Parquet or NPZ read, and every value checked before a model
sees it. Training (sets.py) and `layerwise predict` (model/predictor.py) apply the same rules, so a file
the search trained on is a file the model answers: booleans are 0 and 1, text and complex numbers are
refused, and so are values float32 (what the networks compute in) cannot hold.
"""

from pathlib import Path

import numpy as np

from layerwise.errors import UserError

FILE_SUFFIXES = (".csv", ".parquet", ".npz")
FLOAT32_MAX = float(np.finfo(np.float32).max)
MISSING_HINT = "; add impute to every preprocess.space.pipeline (e.g. impute+standardize)"


class DataError(UserError, ValueError):
    """Input data that cannot be used; the message says what and where."""


def array_columns(n_features: int) -> list[str]:
    """The names of an array's feature columns (an NPZ file, a built-in data set): x0, x1, ..."""
    return [f"x{index}" for index in range(n_features)]


def load_table(path: str, label_column: str, labels: bool = True):
    """Features, labels and the feature columns' names from a CSV, Parquet or NPZ file (NPZ: array `x`
    plus the label array; its columns are named x0, x1, ...). A row whose label is empty (NaN in an NPZ
    file) keeps a missing label: `split_unlabelled` sets it apart. With `labels` False (a file of
    unlabelled rows) the label column may be absent, and the labels returned are None."""
    file = Path(path)
    if file.suffix not in FILE_SUFFIXES:
        raise DataError(f"{path}: unsupported file type {file.suffix!r}; allowed: {', '.join(FILE_SUFFIXES)}")
    if not file.exists():
        raise DataError(f"{path}: file not found")
    if file.suffix == ".npz":
        arrays = read_npz(path, ("x", label_column) if labels else ("x",))
        return arrays["x"], arrays.get(label_column), array_columns(arrays["x"].shape[-1])
    frame = read_frame(path)
    if labels and label_column not in frame.columns:
        raise DataError(
            f"{path}: label column {label_column!r} not found; columns: {', '.join(map(str, frame.columns))}"
        )
    features = frame.drop(columns=[label_column], errors="ignore")
    if frame.empty:
        raise DataError(f"{path}: no rows, only the header")
    if features.columns.empty:
        raise DataError(f"{path}: no feature columns, only the label column {label_column!r}")
    columns = [str(column) for column in features.columns]
    x = numbers(features, path)
    if not labels:
        labelled = np.flatnonzero(frame[label_column].notna()) if label_column in frame.columns else []
        if len(labelled):
            raise DataError(
                f"{path}: row {labelled[0] + 1} has a label in column {label_column!r} ({len(labelled)} rows in "
                f"all); data.unlabelled_path holds rows without labels, labelled rows go in data.path"
            )
        return x, None, columns
    return x, frame[label_column].to_numpy(), columns


def numbers(features, where: str, first_row: int = 0) -> np.ndarray:
    """A frame's feature columns as float64 (booleans as 0 and 1); DataError naming `where`, the row (the
    frame's first being row `first_row` + 1) and the column of a value that is text or complex."""
    import pandas as pd

    if features.empty:  # no rows (a header alone): the caller says so, no column's type to judge
        return np.empty(features.shape, np.float64)
    for column in features.columns:
        values = features[column]
        if pd.api.types.is_complex_dtype(values):
            imaginary = np.flatnonzero(np.imag(values.to_numpy()) != 0)
            row = int(imaginary[0]) if len(imaginary) else 0
            raise DataError(
                f"{where}: row {first_row + row + 1}, column {column!r}: {values.iloc[row]!r} is a complex number"
            )
        if not pd.api.types.is_numeric_dtype(values):
            row = first_non_number(values)
            raise DataError(
                f"{where}: row {first_row + row + 1}, column {column!r}: {values.iloc[row]!r} is not a number "
                "(feature columns must be numeric)"
            )
    return features.to_numpy(dtype=np.float64)


def read_frame(path: str):
    """A CSV or Parquet file as a pandas DataFrame; DataError with the reader's reason if unreadable, or
    naming a column name the header holds twice (pandas would silently rename the second)."""
    import pandas as pd

    refuse_duplicate_columns(path, header(path))
    try:
        return pd.read_csv(path) if Path(path).suffix == ".csv" else pd.read_parquet(path)
    except Exception as error:  # the reader's own message says what is wrong with the bytes
        raise DataError(f"{path}: cannot read: {error}") from error


def header(path: str) -> list[str]:
    """The column names of a CSV or Parquet file, as written ([] if it cannot be read: the reader says why)."""
    import csv

    try:
        if Path(path).suffix == ".csv":
            with open(path, newline="", encoding="utf-8-sig") as file:
                return next(csv.reader(file), [])
        import pyarrow.parquet

        return pyarrow.parquet.read_schema(path).names
    except Exception:  # noqa: BLE001 - read_frame reports the reader's own reason
        return []


def refuse_duplicate_columns(path: str, names: list[str]) -> None:
    seen: dict[str, int] = {}
    for position, name in enumerate(names):
        if name in seen:
            raise DataError(
                f"{path}: column name {name!r} appears twice (columns {seen[name] + 1} and {position + 1}); "
                "each column needs a name of its own"
            )
        seen[name] = position


def read_npz(path: str, required: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The `required` arrays of an NPZ file; DataError naming what is missing, or why it is unreadable."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            if not set(required) <= set(arrays):
                needs = (
                    f"arrays {' and '.join(map(repr, required))}" if len(required) > 1 else f"an array {required[0]!r}"
                )
                raise DataError(f"{path}: an NPZ file needs {needs}, has {sorted(arrays)}")
            return {name: arrays[name] for name in required}
    except DataError:
        raise
    except Exception as error:  # the reader's own message says what is wrong with the bytes
        raise DataError(f"{path}: cannot read: {error}") from error


def first_non_number(values) -> int:
    """The position of the first value of a pandas column that is neither a number nor missing (0 if none)."""
    import pandas as pd

    found = np.flatnonzero(pd.to_numeric(values, errors="coerce").isna() & values.notna())
    return int(found[0]) if len(found) else 0


def refuse_non_finite(
    x: np.ndarray, where: str, columns: list[str], allow_missing: bool, hint: str = "", first_row: int = 0
) -> None:
    """Raises DataError naming the first row (the array's first being row `first_row` + 1) and column of
    an infinite value, of one beyond float32's range, or of a missing one (NaN) unless `allow_missing`;
    `hint` follows a missing value's message."""
    with np.errstate(invalid="ignore"):
        checks = (
            (np.isinf(x), "is infinite"),
            (np.isfinite(x) & (np.abs(x) > FLOAT32_MAX), f"is beyond float32's range (±{FLOAT32_MAX:.1e})"),
            (None if allow_missing else np.isnan(x), "is missing (NaN)"),
        )
    for bad, what in checks:
        if bad is not None and bad.any():
            row, column = (int(index) for index in np.argwhere(bad)[0])
            rows, tail = int(bad.any(axis=1).sum()), hint if what.startswith("is missing") else ""
            value = f": {x[row, column]:g}" if what.startswith("is beyond") else ""
            raise DataError(
                f"{where}: row {first_row + row + 1}, column {columns[column]!r}{value} {what} ({rows} rows in all)"
                f"{tail}"
            )
