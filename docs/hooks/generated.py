"""MkDocs hooks: pages made at build time from their one source, so they can never drift from it.

- `reference.md`: every config key and every hyper-parameter of each stage's search space, with its
  meaning, what it allows and its default, from `workflow/schemas/config.schema.yaml` (the schema
  Snakemake validates a config against).
- `benchmarks.md` and its figures: `benchmarks/README.md` and `benchmarks/figures/`.
"""

import re
from pathlib import Path

import yaml
from mkdocs.structure.files import File

from layerwise.schema import allowed, shown

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
# A space's hyper-parameter says what it allows and its default in its description (a unit test keeps it so).
SPACE_ENTRY = re.compile(r"^(?P<meaning>.+); allowed: (?P<allowed>.+); default: (?P<default>[^;]+)$", re.DOTALL)
SPACES = {"preprocess": "preprocess_space", "pretrain": "pretrain_space", "finetune": "finetune_space"}
STRATEGY_LINK = "how the stage searches: see [Strategy](#strategy-stagestrategy)"


def on_files(files, config):
    files.append(File.generated(config, "reference.md", content=reference(yaml.safe_load(SCHEMA.read_text()))))
    benchmarks = REPO / "benchmarks"
    files.append(File.generated(config, "benchmarks.md", content=(benchmarks / "README.md").read_text()))
    for figure in sorted((benchmarks / "figures").glob("*.png")):
        files.append(File.generated(config, f"figures/{figure.name}", abs_src_path=str(figure)))
    return files


def reference(schema: dict) -> str:
    """The configuration reference page."""
    definitions, properties = schema["definitions"], schema["properties"]
    lines = [
        "# Configuration reference",
        "",
        "Generated from `workflow/schemas/config.schema.yaml`, the schema Snakemake validates every config",
        "against before any job runs (filling in the defaults shown here). A key that is not listed, or a",
        "value outside what it allows, stops the run with a message naming the key.",
        "",
        "## Top level",
        "",
        *table([(key, entry) for key, entry in properties.items() if "properties" not in entry]),
    ]
    for section, entry in properties.items():
        if "properties" in entry:
            lines += ["", f"## `{section}`", "", *paragraph(entry)]
            lines += table([(f"{section}.{key}", value) for key, value in entry["properties"].items()])
    strategy = definitions["strategy"]
    lines += ["", "## Strategy (`<stage>.strategy`)", "", *paragraph(strategy)]
    lines += table(list(strategy["properties"].items()))
    for stage, name in SPACES.items():
        space = definitions[name]
        lines += ["", f"## Search space of `{stage}` (`{stage}.space`)", "", *paragraph(space)]
        lines += ["Each is a fixed value or a distribution: see [Search spaces](configuration.md#search-spaces).", ""]
        lines += [row("hyper-parameter", "meaning", "allowed", "default"), "|---|---|---|---|"]
        for key, value in space["properties"].items():
            parts = SPACE_ENTRY.match(one_line(value["description"]))
            lines.append(row(f"`{key}`", cell(parts["meaning"]), cell(parts["allowed"]), cell(parts["default"])))
    return "\n".join(lines) + "\n"


def paragraph(entry: dict) -> list[str]:
    return [cell(one_line(entry["description"])), ""] if "description" in entry else []


def table(entries: list[tuple[str, dict]]) -> list[str]:
    rows = [row("key", "meaning", "allowed", "default"), "|---|---|---|---|"]
    for key, entry in entries:
        if "$ref" in entry:
            strategy = entry["$ref"].endswith("/strategy")
            rows.append(row(f"`{key}`", STRATEGY_LINK if strategy else "its search space: see below", "", ""))
            continue
        default = f"`{shown(entry['default'])}`" if "default" in entry else "(required)"
        meaning = cell(one_line(entry.get("description", "")))
        rows.append(row(f"`{key}`", meaning, cell(allowed(entry)), default))
    return rows


def row(*cells: str) -> str:
    return f"| {' | '.join(cells)} |"


def one_line(text: str) -> str:
    return " ".join(text.split())


def cell(text: str) -> str:
    """Text for a Markdown table cell, where `|` ends the cell and `<...>` would be read as HTML."""
    return text.replace("|", "\\|").replace("<", "&lt;")
