"""`layerwise predict`: a file of raw rows in, a file of predictions out, BATCH_ROWS rows at a time, so
memory stays bounded whatever the file's size.

The output is checked before any row is read (not the input itself, a writable file in a folder that
exists) and written whole or not at all: a hidden partial file beside it, renamed at the end, removed
on any error.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from layerwise.data.tables import FILE_SUFFIXES, DataError, array_columns, header, read_npz, refuse_duplicate_columns
from layerwise.model.predictor import BATCH_ROWS, Predictor

OUTPUTS = (".csv", ".parquet")


def predict_file(model: str, source: str, destination: str) -> int:
    """Each row's label and class probabilities, from `source` to `destination`; the number of rows. On
    any error nothing is written."""
    predictor = Predictor.from_folder(model)
    check_paths(source, destination)
    rows = 0
    with predictions_writer(destination) as write:
        for first_row, batch in read_batches(source, predictor.columns):
            write(predictor.predict(batch, source, probabilities=True, first_row=first_row))
            rows += len(batch)
        if not rows:
            raise DataError(f"{source}: no rows to predict, only the header")
    return rows


def check_paths(source: str, destination: str) -> None:
    """DataError naming the path: an input that is missing or of another type; an output of another type,
    that is the input, a folder, or in a folder that does not exist."""
    source_file, target = Path(source), Path(destination)
    if source_file.suffix not in FILE_SUFFIXES:
        raise DataError(f"{source}: unsupported file type {source_file.suffix!r}; allowed: {', '.join(FILE_SUFFIXES)}")
    if not source_file.is_file():
        raise DataError(f"{source}: file not found")
    if target.is_dir():
        raise DataError(f"{destination}: is a folder; --output names the file to write (.csv or .parquet)")
    if target.suffix not in OUTPUTS:
        raise DataError(f"{destination}: unsupported output type {target.suffix!r}; allowed: {', '.join(OUTPUTS)}")
    if not target.parent.is_dir():
        what = "is not a folder" if target.parent.exists() else "does not exist"
        raise DataError(f"{destination}: {target.parent} {what}")
    if target.exists() and target.samefile(source_file):
        raise DataError(f"{destination}: is the input file; write the predictions to another file")


def read_batches(path: str, columns: list[str]) -> Iterator[tuple[int, pd.DataFrame]]:
    """(first row's position, rows) of a CSV, Parquet or NPZ file, BATCH_ROWS rows at a time. An NPZ's
    array `x` (2-D) has no column names: its columns are `columns` (the model's) when it has as many,
    else x0, x1, ... (an NPZ is compressed whole, so it is read whole)."""
    suffix = Path(path).suffix
    try:
        if suffix in (".csv", ".parquet"):
            refuse_duplicate_columns(path, header(path))
        if suffix == ".csv":
            batches = pd.read_csv(path, chunksize=BATCH_ROWS)
        elif suffix == ".parquet":
            import pyarrow.parquet

            batches = (
                batch.to_pandas() for batch in pyarrow.parquet.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS)
            )
        else:
            x = read_npz(path, ("x",))["x"]
            if x.ndim not in (1, 2):
                raise DataError(f"{path}: array 'x' has {x.ndim} dimensions, {x.shape}; rows need 2 (rows, columns)")
            x = np.atleast_2d(x)
            names = columns if x.shape[1] == len(columns) else array_columns(x.shape[1])
            starts = range(0, len(x), BATCH_ROWS)
            batches = (pd.DataFrame(x[start : start + BATCH_ROWS], columns=names) for start in starts)
        first_row = 0
        for batch in batches:
            yield first_row, batch.reset_index(drop=True)
            first_row += len(batch)
    except DataError:
        raise
    except Exception as error:  # the reader's own message says what is wrong with the bytes
        raise DataError(f"{path}: cannot read: {error}") from error


@contextmanager
def predictions_writer(destination: str):
    """A function that appends a frame of predictions to `destination`, which appears whole when the
    block ends and not at all if it raises."""
    target = Path(destination)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)  # left by a process that was killed
    parquet = None

    def write(frame: pd.DataFrame) -> None:
        nonlocal parquet
        if target.suffix == ".csv":
            frame.to_csv(partial, index=False, mode="a" if partial.exists() else "w", header=not partial.exists())
            return
        import pyarrow
        import pyarrow.parquet

        table = pyarrow.Table.from_pandas(frame, preserve_index=False)
        parquet = parquet or pyarrow.parquet.ParquetWriter(partial, table.schema)
        parquet.write_table(table)

    try:
        try:
            yield write
        finally:
            if parquet is not None:
                parquet.close()
        partial.replace(target)
    except OSError as error:
        raise DataError(f"{destination}: cannot write: {error.strerror or error}") from error
    finally:
        partial.unlink(missing_ok=True)
