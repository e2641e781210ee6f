"""The documentation's figures, from a run of the current default config (config/config.yaml):

    .venv/bin/python scripts/docs-figures.py           # runs the default experiment (about 10 minutes on 2 cores)
    .venv/bin/python scripts/docs-figures.py --no-run  # from results/mnist1d-default as it is

It draws the figures the docs show again from the run's records, with this code, into docs/, and writes
docs/figures.json: the digest of the config they were made with, which a test compares with
config/config.yaml, so that the docs never show a search the default no longer runs.
"""

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config" / "config.yaml"
RECORD = REPO / "docs" / "figures.json"
# docs/<name>: the run's figure it copies
FIGURES = {
    "layer1-objective.png": "layer1/figures/objective.png",
    "finetune-parallel.png": "finetune/figures/parallel.png",
    "finetune-contour.png": "finetune/figures/contour.png",
}


def config_digest(path: Path = CONFIG) -> str:
    """The digest of the config's values: a changed comment makes no other figure."""
    values = json.dumps(yaml.safe_load(path.read_text()), sort_keys=True)
    return hashlib.sha256(values.encode()).hexdigest()


def holds(resolved, given) -> bool:
    """Whether the resolved config holds every value the given one sets."""
    if isinstance(given, dict):
        return isinstance(resolved, dict) and all(holds(resolved.get(key), value) for key, value in given.items())
    return resolved == given


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-run", action="store_true", help="use the results as they are")
    args = parser.parse_args()
    config = yaml.safe_load(CONFIG.read_text())
    results = REPO / "results" / config["experiment"]
    if not args.no_run:
        snakemake = Path(sys.executable).parent / "snakemake"
        subprocess.run([snakemake, "--cores", "all", "--configfile", CONFIG], cwd=REPO, check=True)
    ran = json.loads((results / "provenance.json").read_text())["config"]  # resolved: with the schema's defaults
    changed = [key for key, value in config.items() if not holds(ran.get(key), value)]
    if changed:
        raise SystemExit(f"{results} was not run with the current {CONFIG.name} (it differs in {', '.join(changed)})")
    from layerwise.steps.selection import draw_again

    with tempfile.TemporaryDirectory() as drawn:
        for name, source in FIGURES.items():
            stage, _, figure = source.split("/")
            draw_again(results / stage, str(Path(drawn) / stage))
            shutil.copyfile(Path(drawn) / stage / figure, REPO / "docs" / name)
    RECORD.write_text(json.dumps({"config_sha256": config_digest(), "figures": FIGURES}, indent=2) + "\n")
    print(f"docs/: {', '.join(FIGURES)} from {results}; now read the words under them in docs/ and README.md")


if __name__ == "__main__":
    main()
