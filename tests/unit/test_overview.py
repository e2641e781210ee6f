"""`layerwise status`, `best` and `compare` on a results folder that is being written, cut short or not
theirs: one line naming the file, never a traceback; and status's estimate of what is left."""

import json
from pathlib import Path

import pytest

from layerwise.command.cli import run

STARTED = {"trials": 4, "shards": 2}


def progress_folder(folder: Path, lines: str) -> Path:
    """A run whose fine-tuning shard r0-0 has written `lines` to its progress log."""
    (folder / "finetune" / "shards" / "progress").mkdir(parents=True)
    (folder / "tracking.json").write_text("{}")
    (folder / "finetune" / "tracking.json").write_text("{}")
    (folder / "finetune" / "shards" / "progress" / "r0-0.jsonl").write_text(lines)
    return folder


def command(arguments: list[str], capsys) -> tuple[int, str, str]:
    try:
        run(arguments)
    except SystemExit as ended:
        code = ended.code
    else:
        code = 0
    out, err = capsys.readouterr()
    return code, out, err


def test_status_leaves_a_progress_line_still_being_written_for_later(tmp_path, capsys):
    ended = {"trial_id": "finetune/r0-0", "status": "FINISHED", "objective": 0.25, "duration_s": 3.0}
    lines = "".join(json.dumps(line) + "\n" for line in (STARTED, {"started": ["finetune/r0-0"]}, ended))
    folder = progress_folder(tmp_path / "run", lines + '{"trial_id": "finetune/r0-1", "sta')
    code, out, err = command(["status", str(folder)], capsys)
    assert code == 0, err
    row = next(line.split() for line in out.splitlines() if line.startswith("finetune"))
    assert row == ["finetune", "0", "1", "0", "0", "3", "0.2500"]  # finished, failed, running, left, best


def test_status_names_a_progress_log_that_is_not_one(tmp_path, capsys):
    folder = progress_folder(tmp_path / "run", "not json\n")
    code, _, err = command(["status", str(folder)], capsys)
    log = folder / "finetune" / "shards" / "progress" / "r0-0.jsonl"
    assert code == 1 and err.startswith(f"layerwise status: error: {log}: not a progress log") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("summary", "message"),
    [('{"experiment": "x", "test_acc', "not readable JSON, perhaps cut short"),
     ('{"accuracy": 0.9}', "not a summary.json layerwise wrote (no experiment, test_accuracy"),
     ("[1, 2]", "not a summary.json layerwise wrote")],
    ids=["truncated", "foreign", "not an object"],
)  # fmt: skip
def test_best_status_and_compare_name_a_summary_that_is_cut_short_or_not_theirs(tmp_path, capsys, summary, message):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "summary.json").write_text(summary)
    for arguments in (["best", str(folder)], ["status", str(folder)], ["compare", str(folder), str(folder)]):
        code, _, err = command(arguments, capsys)
        assert code == 1 and f"error: {folder / 'summary.json'}: {message}" in err and err.count("\n") == 1, arguments


def test_status_estimates_what_is_left_of_the_whole_run_and_names_what_it_cannot_time_yet(tmp_path, capsys):
    folder = tmp_path / "run"
    plan = {"stages": [{"stage": "layer1", "rounds": 2}, {"stage": "finetune", "rounds": 3}], "seeds": 4}
    ended = [{"trial_id": f"layer1/r0-{n}", "status": "FINISHED", "objective": 0.5, "duration_s": 10.0} for n in (0, 1)]
    lines = [{"trials": 4, "shards": 2}, {"started": ["layer1/r0-0", "layer1/r0-1", "layer1/r0-2"]}, *ended]
    (folder / "layer1" / "shards" / "progress").mkdir(parents=True)
    (folder / "tracking.json").write_text("{}")
    (folder / "layer1" / "tracking.json").write_text("{}")
    (folder / "plan.json").write_text(json.dumps(plan))
    (folder / "layer1" / "shards" / "progress" / "r0-0.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    code, out, err = command(["status", str(folder)], capsys)
    assert code == 0, err
    assert [line.split()[:2] for line in out.splitlines()[2:4]] == [["layer1", "0"], ["finetune", "-"]]
    # this round: 1 running and 1 left at 10 s each over 2 shards; the second round: 4 trials over 2 shards
    assert out.splitlines()[-1] == (
        "about 30 s left in the stages under way and their later rounds; then finetune, the seed study "
        "(4 networks and their twins), the evaluation, not yet timed"
    )
