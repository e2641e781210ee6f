import json
import re

import numpy as np
import pandas as pd
import pytest

from layerwise.data.sets import UNLABELLED, DataError, load_and_split


def test_mnist1d_is_generated_locally_with_its_own_test_part():
    splits = load_and_split("mnist1d", seed=0, valid_fraction=0.2, test_fraction=0.2)
    assert (len(splits["train"].y), len(splits["valid"].y), len(splits["test"].y)) == (3200, 800, 1000)
    assert splits["train"].x.shape[1] == 40 and splits["train"].x.dtype == np.float32
    assert len(splits["classes"]) == 10


def test_another_mnist1d_draw_has_other_rows_and_the_default_is_the_packages_own():
    own = load_and_split("mnist1d", seed=0, valid_fraction=0.2, test_fraction=0.2)
    package = load_and_split("mnist1d", seed=0, valid_fraction=0.2, test_fraction=0.2, generator_seed=42)
    fresh = load_and_split("mnist1d", seed=0, valid_fraction=0.2, test_fraction=0.2, generator_seed=1)
    assert np.array_equal(own["test"].x, package["test"].x)
    assert fresh["test"].x.shape == own["test"].x.shape and not np.allclose(fresh["test"].x, own["test"].x)


def test_splits_are_stratified_and_seeded():
    first = load_and_split("digits", seed=3, valid_fraction=0.25, test_fraction=0.2)
    again = load_and_split("digits", seed=3, valid_fraction=0.25, test_fraction=0.2)
    other = load_and_split("digits", seed=4, valid_fraction=0.25, test_fraction=0.2)
    assert np.array_equal(first["valid"].x, again["valid"].x)
    assert not np.array_equal(first["valid"].x, other["valid"].x)
    train_share = np.bincount(first["train"].y) / len(first["train"].y)
    valid_share = np.bincount(first["valid"].y) / len(first["valid"].y)
    assert np.abs(train_share - valid_share).max() < 0.02


def write_table(tmp_path, suffix, frame):
    path = tmp_path / f"data{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        np.savez(path, x=frame.drop(columns=["target"]).to_numpy(), target=frame["target"].to_numpy(dtype=str))
    return str(path)


def frame(rows=120, classes=("cat", "dog", "eel")):
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows), "target": np.resize(classes, rows)})


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".npz"])
def test_user_files_with_a_label_column(tmp_path, suffix):
    path = write_table(tmp_path, suffix, frame())
    splits = load_and_split("file", 0, 0.25, 0.25, path=path, label_column="target")
    assert splits["train"].x.shape[1] == 2
    assert list(splits["classes"]) == ["cat", "dog", "eel"]
    assert splits["columns"] == (["x0", "x1"] if suffix == ".npz" else ["a", "b"])  # what the model will read
    assert sum(len(splits[name].y) for name in ("train", "valid", "test")) == 120


def test_a_pre_split_pair_keeps_its_test_file(tmp_path):
    train = write_table(tmp_path, ".csv", frame())
    test_path = tmp_path / "test.csv"
    frame(rows=30).to_csv(test_path, index=False)
    splits = load_and_split("file", 0, 0.25, 0.5, path=train, test_path=str(test_path), label_column="target")
    assert len(splits["test"].y) == 30 and len(splits["train"].y) + len(splits["valid"].y) == 120


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda f: f.drop(columns=["target"]), "label column 'target' not found"),
        (
            lambda f: f.assign(a=np.where(np.arange(len(f)) == 3, np.nan, f["a"])),
            r"data.csv: row 4, column 'a' is missing \(NaN\) \(1 rows in all\); add impute to every",
        ),
        (lambda f: f.assign(b=np.where(np.arange(len(f)) >= 7, -np.inf, f["b"])), "row 8, column 'b' is infinite"),
        (lambda f: f.assign(target="cat"), "single class"),
        (lambda f: f.head(4), "cannot carve a stratified"),
    ],
)
def test_bad_files_are_rejected_with_a_reason(tmp_path, change, message):
    path = write_table(tmp_path, ".csv", change(frame()))
    with pytest.raises(DataError, match=message):
        load_and_split("file", 0, 0.25, 0.25, path=path, label_column="target")


def test_missing_file_and_unseen_test_labels(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load_and_split("file", 0, 0.25, 0.25, path=str(tmp_path / "none.csv"), label_column="target")
    train = write_table(tmp_path, ".csv", frame())
    test_path = tmp_path / "test.csv"
    frame(rows=30, classes=("cat", "fox")).to_csv(test_path, index=False)
    with pytest.raises(DataError, match="never seen in training: \\['fox'\\]"):
        load_and_split("file", 0, 0.25, 0.25, path=train, test_path=str(test_path), label_column="target")


def test_a_test_file_with_other_feature_columns_is_refused(tmp_path):
    train = write_table(tmp_path, ".csv", frame())
    test_path = tmp_path / "test.csv"
    frame(rows=30).rename(columns={"b": "c"}).to_csv(test_path, index=False)
    with pytest.raises(DataError, match=r"differ from those of .*only in .*: \['b'\]; only in .*: \['c'\]"):
        load_and_split("file", 0, 0.25, 0.25, path=train, test_path=str(test_path), label_column="target")
    frame(rows=30)[["b", "a", "target"]].to_csv(test_path, index=False)
    with pytest.raises(DataError, match="in order"):
        load_and_split("file", 0, 0.25, 0.25, path=train, test_path=str(test_path), label_column="target")


def test_built_in_data_sets_name_their_columns_by_position():
    assert load_and_split("digits", seed=0, valid_fraction=0.2, test_fraction=0.2)["columns"][:2] == ["x0", "x1"]


def test_missing_values_pass_when_the_preprocessing_imputes_them_and_infinite_ones_never(tmp_path):
    rows = frame().assign(a=lambda f: np.where(np.arange(len(f)) % 10 == 3, np.nan, f["a"]))
    path = write_table(tmp_path, ".csv", rows)
    splits = load_and_split("file", 0, 0.25, 0.25, path=path, label_column="target", allow_missing=True)
    assert sum(np.isnan(splits[name].x).sum() for name in ("train", "valid", "test")) == 12  # kept for impute
    infinite = write_table(tmp_path, ".csv", rows.assign(b=np.inf))
    with pytest.raises(DataError, match="row 1, column 'b' is infinite"):
        load_and_split("file", 0, 0.25, 0.25, path=infinite, label_column="target", allow_missing=True)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a,b,target\n", "data.csv: no rows, only the header"),
        ("target\ncat\ndog\n", "data.csv: no feature columns, only the label column 'target'"),
        ("a,target\n1,\n2,\n", "data.csv: no row has a label (2 rows, every label empty)"),
        ("a,target\n1,cat\nx,dog\n", "row 2, column 'a': 'x' is not a number"),
    ],
    ids=["header only", "label only", "no label at all", "text feature"],
)
def test_a_file_the_search_cannot_use_is_refused_naming_the_file_and_the_row(tmp_path, content, message):
    (tmp_path / "data.csv").write_text(content)
    with pytest.raises(DataError) as refused:
        load_and_split("file", 0, 0.25, 0.25, path=str(tmp_path / "data.csv"), label_column="target")
    assert str(refused.value).startswith(str(tmp_path / "data.csv")) and message in str(refused.value)


def test_too_few_rows_for_a_stratified_split_names_the_file_and_the_rarest_classes(tmp_path):
    rows = frame(rows=400, classes=tuple(f"c{i}" for i in range(200)))
    path = write_table(tmp_path, ".csv", rows)
    with pytest.raises(DataError) as refused:
        load_and_split("file", 0, 0.25, 0.25, path=path, label_column="target")
    message = str(refused.value)
    assert message.startswith(f"{path}: cannot carve a stratified test split") and "in 200 classes" in message
    assert len(message) < 300  # not the list of 200 classes


def test_rows_without_a_label_are_kept_apart_from_every_labelled_split(tmp_path):
    rows = frame(rows=150).assign(target=lambda f: np.resize([1, 2, 3], len(f)).astype(float))
    rows.loc[rows.index % 5 == 0, "target"] = np.nan  # 30 rows without a label; integers read as floats
    splits = load_and_split("file", 0, 0.25, 0.25, path=write_table(tmp_path, ".csv", rows), label_column="target")
    assert len(splits["unlabelled"].x) == 30 and set(splits["unlabelled"].y) == {UNLABELLED}
    assert sum(len(splits[name].y) for name in ("train", "valid", "test")) == 120
    assert splits["classes"].tolist() == [1, 2, 3] and splits["classes"].dtype.kind == "i"  # not 1.0, 2.0, 3.0
    unlabelled = {tuple(row) for row in rows[rows.target.isna()][["a", "b"]].to_numpy(np.float32)}
    assert {tuple(row) for row in splits["unlabelled"].x} == unlabelled
    assert not unlabelled & {tuple(row) for name in ("train", "valid", "test") for row in splits[name].x}


@pytest.mark.parametrize("suffix", [".csv", ".npz"])
def test_a_file_of_unlabelled_rows_joins_those_of_the_data_file(tmp_path, suffix):
    labelled = write_table(tmp_path, ".csv", frame())
    more = tmp_path / f"more{suffix}"
    features = frame(rows=40)[["a", "b"]]
    if suffix == ".csv":
        features.assign(target="").to_csv(more, index=False)  # an empty label column is no label
    else:
        np.savez(more, x=features.to_numpy())
    if suffix == ".npz":  # an NPZ file's columns are x0, x1: the labelled data must be named alike
        labelled = write_table(tmp_path, ".npz", frame())
    splits = load_and_split("file", 0, 0.25, 0.25, path=labelled, label_column="target", unlabelled_path=str(more))
    assert len(splits["unlabelled"].x) == 40


def test_unlabelled_rows_where_none_may_be_are_refused_naming_file_and_row(tmp_path):
    labelled = write_table(tmp_path, ".csv", frame())
    test = tmp_path / "test.csv"
    frame(rows=12).assign(target=["cat", None] * 6).to_csv(test, index=False)
    with pytest.raises(DataError, match="test.csv: row 2 has no label \\(6 rows in all\\); every row of a test file"):
        load_and_split("file", 0, 0.25, 0.25, path=labelled, test_path=str(test), label_column="target")
    more = tmp_path / "more.csv"
    frame(rows=4).assign(target=[None, None, "dog", None]).to_csv(more, index=False)
    with pytest.raises(DataError, match="more.csv: row 3 has a label in column 'target' \\(1 rows in all\\)"):
        load_and_split("file", 0, 0.25, 0.25, path=labelled, label_column="target", unlabelled_path=str(more))
    rows = frame(rows=12).assign(target=[None, "cat", "dog"] * 4)
    rows.loc[3, "b"] = np.inf  # the fourth row of the file, the second without a label
    rows.to_csv(tmp_path / "holes.csv", index=False)
    with pytest.raises(DataError, match="holes.csv: row 4, column 'b' is infinite"):
        load_and_split("file", 0, 0.25, 0.25, path=str(tmp_path / "holes.csv"), label_column="target")
    frame(rows=4)[["b", "a"]].to_csv(more, index=False)
    with pytest.raises(DataError, match="more.csv: its feature columns differ from those of .*data.csv \\(in order\\)"):
        load_and_split("file", 0, 0.25, 0.25, path=labelled, label_column="target", unlabelled_path=str(more))


def test_the_digest_of_a_data_file_is_taken_where_it_is_read_and_a_file_changed_meanwhile_is_refused(tmp_path):
    import hashlib

    from layerwise.track.provenance import files_read

    data, record = tmp_path / "data.csv", tmp_path / "files_read.json"
    data.write_text("a,label\n1,x\n")
    with files_read([str(data), None], str(record)):
        pass
    assert json.loads(record.read_text()) == [
        {"path": str(data), "size": 12, "sha256": hashlib.sha256(b"a,label\n1,x\n").hexdigest()}
    ]
    with pytest.raises(DataError, match=re.escape(f"{data}: changed while it was read")):
        with files_read([str(data)], str(tmp_path / "other.json")):
            data.write_text("a,label\n2,y\n")
    assert not (tmp_path / "other.json").exists()
