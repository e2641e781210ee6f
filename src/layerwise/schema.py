"""The config schema (workflow/schemas/config.schema.yaml) in words: what a node allows, and why a
config breaks it, in the form every config error takes ("key: value is not allowed; it must be ...").

Torch-free: Snakemake's own process reads it, and so does the documentation's build (its reference
page says what each key allows in the same words as the errors).
"""

import difflib

import yaml

BOUNDS = (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<"))
KINDS = {
    "integer": "an integer", "number": "a number", "string": "a string", "boolean": "true or false",
    "null": "null", "array": "a list", "object": "a mapping",
}  # fmt: skip


def shown(value) -> str:
    """A value as it is written in a YAML config."""
    return yaml.safe_dump(value, default_flow_style=True, width=1000).strip().removesuffix("\n...").strip()


def allowed(node: dict) -> str:
    """What a schema node accepts, in words."""
    if "enum" in node:
        return "one of " + ", ".join(shown(value) for value in node["enum"])
    if "anyOf" in node:
        return " or ".join(allowed(option) for option in node["anyOf"])
    kinds = node.get("type", [])
    text = " or ".join(KINDS[kind] for kind in ([kinds] if isinstance(kinds, str) else kinds))
    bounds = [f"{sign} {node[key]}" for key, sign in BOUNDS if key in node]
    if bounds:
        text += " " + ", ".join(bounds)
    if "pattern" in node:
        text += f" matching {node['pattern']}"
    return text


def suggestion(word, choices) -> str:
    """ " (did you mean 'x'?)" for the closest of `choices` to a misspelt `word`, or nothing."""
    close = difflib.get_close_matches(str(word), [str(choice) for choice in choices], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def problem(config: dict, schema: dict) -> str:
    """The most relevant way `config` breaks `schema`, as "dotted.key: what is wrong; what it must be"."""
    import jsonschema
    from jsonschema.exceptions import best_match

    error = best_match(jsonschema.validators.validator_for(schema)(schema).iter_errors(config))
    if error is None:
        return "the config does not match workflow/schemas/config.schema.yaml"
    key = ".".join(map(str, error.absolute_path))
    if error.validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(known))
        where = f"{key}.{unknown[0]}" if key else unknown[0]
        return f"{where}: unknown key{suggestion(unknown[0], known)}; allowed: {', '.join(known)}"
    if error.validator == "required":
        missing = error.message.split("'")[1]
        return f"{'.'.join(filter(None, [key, missing]))}: required, and not given"
    if error.validator in ("enum", "type", "pattern", *(bound for bound, _ in BOUNDS)):
        hint = suggestion(error.instance, error.schema["enum"]) if error.validator == "enum" else ""
        what = f"{shown(error.instance)} is not allowed{hint}; it must be {allowed(error.schema)}"
        return f"{key or 'the config'}: {what}"
    return f"{key or 'the config'}: {error.message}"
