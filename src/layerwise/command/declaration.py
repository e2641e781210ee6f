"""A workflow step is declared once, as its function in command/steps.py: keyword-only parameters whose
types and defaults say what the step takes, and whose `Annotated` text is the option's help. From that
signature come both the step's command line (`layerwise step <name> --option ...`, `add_step_parsers`)
and the arguments a rule passes to it (`step_params`, which the rules call): a rule names no option.
"""

import argparse
import inspect
import shlex
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from layerwise.command import steps

BOOLEANS = {"true": True, "false": False}  # how a boolean travels on the command line


def boolean(text: str) -> bool:
    try:
        return BOOLEANS[text.lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(BOOLEANS)}") from None


def optional(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """An optional option given empty is not given (a rule's empty value)."""
    return lambda text: convert(text) if text != "" else None


@dataclass(frozen=True)
class Option:
    """One parameter of a step: its name in Python and on the command line, and how it is read."""

    name: str  # the parameter's; a trailing _ keeps a builtin's name free (round_ is --round)
    convert: Callable[[str], Any]
    help: str
    required: bool
    default: Any = None
    count: int | str | None = None  # values after the flag: None for one, an int, or argparse's "+" / "*"
    choices: tuple | None = None

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")

    @property
    def key(self) -> str:
        """The name a rule binds the option by: an input, output, wildcard, or `threads`."""
        return self.name.rstrip("_")

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        settings = {"type": self.convert, "help": self.help, "required": self.required, "dest": self.name}
        if not self.required:
            settings["default"] = self.default
        if self.count is not None:
            settings["nargs"] = self.count
        if self.choices is not None:
            settings["choices"] = self.choices
        if self.convert is boolean:
            settings["metavar"] = "{" + ",".join(BOOLEANS) + "}"
        parser.add_argument(self.flag, **settings)

    def words(self, value) -> str:
        """The option and its value(s), quoted for the shell; nothing where an optional value is absent.
        One value is joined to its flag by '=' (a path may start with '-')."""
        if self.count is None:
            if isinstance(value, list | tuple):  # a rule's input or output of one file
                (value,) = value
            if value is None or value == "":
                return ""
            if isinstance(value, bool):
                value = str(value).lower()
            return f"{self.flag}={shlex.quote(str(value))}"
        values = [value] if isinstance(value, str) else list(value)
        if not values and not self.required:
            return ""
        return " ".join([self.flag, *(shlex.quote(str(item)) for item in values)])


def option(parameter: inspect.Parameter, hint) -> Option:
    """The option of a parameter typed `Annotated[T, help]`: T is str, int, float, bool, a Literal, one
    of those or None, a list[str] (one or more values; none where it has a default) or a tuple of n."""
    kind, help_text = typing.get_args(hint)
    required = parameter.default is inspect.Parameter.empty
    default = None if required else parameter.default
    count, choices = None, None
    if typing.get_origin(kind) in (types.UnionType, typing.Union):
        (kind,) = (member for member in typing.get_args(kind) if member is not type(None))
        convert = optional(kind)
    elif typing.get_origin(kind) is list:
        convert, count = typing.get_args(kind)[0], "+" if required else "*"
    elif typing.get_origin(kind) is tuple:
        members = typing.get_args(kind)
        convert, count = members[0], len(members)
    elif typing.get_origin(kind) is typing.Literal:
        choices = typing.get_args(kind)
        convert = type(choices[0])
    elif kind is bool:
        convert = boolean
    else:
        convert = kind
    if not required and count is not None:
        default = list(default)
    return Option(parameter.name, convert, help_text, required, default, count, choices)


def options(step: Callable) -> list[Option]:
    hints = typing.get_type_hints(step, include_extras=True)
    return [option(parameter, hints[name]) for name, parameter in inspect.signature(step).parameters.items()]


def name_of(step: Callable) -> str:
    return step.__name__.replace("_", "-")


STEPS = {name_of(step): step for step in steps.STEPS}


def add_step_parsers(commands) -> None:
    """Each step's subcommand: its help is the first line of the function's docstring."""
    for name, step in STEPS.items():
        declared = options(step)
        parser = commands.add_parser(name, help=inspect.getdoc(step).splitlines()[0])
        for each in declared:
            each.add_to(parser)
        parser.set_defaults(run=lambda args, step=step, declared=declared: step(**called(args, declared)))


def called(args: argparse.Namespace, declared: list[Option]) -> dict:
    return {each.name: getattr(args, each.name) for each in declared}


class BindingError(ValueError):
    """A rule binds a step's options wrongly: an unknown option, or one found nowhere or twice."""


def wants(value: Callable) -> set[str]:
    """The parts of a job (wildcards, input, output, threads) a given callable takes."""
    return set(inspect.signature(value).parameters)


def resolved(value, job: dict):
    """A value given to a step as a job sees it: a callable is called with the parts of `job` it takes."""
    return value(**{part: job[part] for part in wants(value)}) if callable(value) else value


def arguments(name: str, **given) -> Callable:
    """What a rule passes to step `name`, as a params function: `layerwise step {params.command}`. Each
    option takes the value `given` names for it (a callable of some of wildcards, input, output, threads
    is called with them), or else the rule's input, output or wildcard of its name, or `threads`. An
    option given that the step does not have fails when the workflow is read; one the rule does not bind,
    or binds twice, when its jobs are planned."""
    step = STEPS[name]
    declared = {each.key: each for each in options(step)}
    if unknown := sorted(set(given) - set(declared)):
        raise BindingError(f"step {name} has no option {', '.join(unknown)}; it has {', '.join(declared)}")

    def command(wildcards, input, output, threads) -> str:
        namespaces = {"wildcards": wildcards, "input": input, "output": output}
        words = [name]
        for key, each in declared.items():
            if key in given:
                value = resolved(given[key], {**namespaces, "threads": threads})
            else:
                found = [space for space, named in namespaces.items() if key in named.keys()]
                found += ["threads"] * (key == "threads")
                if len(found) > 1:
                    raise BindingError(f"step {name}: option {key} is both the rule's {' and '.join(found)}")
                if not found:
                    if each.required:
                        raise BindingError(f"step {name}: the rule binds no value to its option {key}")
                    continue
                value = threads if found[0] == "threads" else getattr(namespaces[found[0]], key)
            words.append(each.words(value))
        return " ".join(word for word in words if word)

    return command


def step_params(name: str, **given) -> dict:
    """A rule's params for step `name`: `command`, the step's name and options as `arguments` binds them,
    and `settings`, the values `given` here as the job sees them. Snakemake reruns a job whose params
    changed, but leaves out those computed from the job's files (a function of its input or output, as
    `command` is): `settings` makes a changed setting rerun the job. A callable of the job's files is left
    out of it; the files themselves are the job's inputs and outputs."""

    def settings(wildcards) -> dict:
        kept = {key: value for key, value in given.items() if not callable(value) or wants(value) <= {"wildcards"}}
        return {key: resolved(value, {"wildcards": wildcards}) for key, value in kept.items()}

    return {"command": arguments(name, **given), "settings": settings}
