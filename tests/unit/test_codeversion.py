import shutil

from layerwise.track.codeversion import PACKAGE, code_digest


def test_the_digest_follows_every_source_file_of_every_subpackage(tmp_path):
    copy = tmp_path / "layerwise"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert code_digest(copy) == code_digest()
    for edited in ("learn/training.py", "errors.py"):
        source = copy / edited
        before = source.read_text()
        source.write_text(before + "\n# edited\n")
        assert code_digest(copy) != code_digest(), edited
        source.write_text(before)
    (copy / "learn" / "training.py").rename(copy / "search" / "training.py")  # the same text elsewhere
    assert code_digest(copy) != code_digest()
