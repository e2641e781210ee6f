import shutil

from layerwise.codeversion import PACKAGE, code_digest


def test_the_digest_follows_every_source_file(tmp_path):
    copy = tmp_path / "layerwise"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert code_digest(copy) == code_digest()
    (copy / "training.py").write_text((copy / "training.py").read_text() + "\n# edited\n")
    assert code_digest(copy) != code_digest()
