"""Parameter values converted without pydantic (typer 0.29+), as click converts them.

From 0.29 typer checks every value of a command line, defaults included, through a pydantic ``TypeAdapter`` built
on the parameter's first use: the first one imports pydantic, and each builds an adapter. That took `mobcost table
--format json` from 122 ms (typer 0.28) to 211 ms (benchmarks/cold_start.py, medians of 20). The parameters
mobcost declares are plain numbers, strings, flags, enum choices and paths: :func:`plain_values` gives each of
them a :class:`PlainValue`, which typer then uses in place of its own, and leaves any other kind to typer. Older
typer converts through click's types and has no such hook: there this does nothing.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

import typer


class PlainValue:
    """One parameter's conversion from text, as click (and so typer up to 0.28) does it, with click's messages,
    each naming the rejected value; typer 0.29+ calls :meth:`coerce` as it would its own."""

    TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
    FALSE = frozenset({"0", "false", "f", "no", "n", "off"})

    def __init__(self, kind: Any, info: Any) -> None:
        self.kind = kind
        self.low, self.high = info.min, info.max
        self.case_sensitive = info.case_sensitive

    @classmethod
    def of(cls, annotation: Any, info: Any) -> PlainValue | None:
        """The plain conversion of a parameter, or None where typer's own is needed."""
        if get_origin(annotation) is list:
            (annotation,) = get_args(annotation)
        if getattr(info, "parser", None) is not None or getattr(info, "click_type", None) is not None:
            return None
        if isinstance(annotation, type) and issubclass(annotation, Enum):
            return cls(annotation, info)
        if annotation in (int, float) and not info.clamp:
            return cls(annotation, info)
        if annotation in (str, bool) and info.min is None and info.max is None:
            return cls(annotation, info)
        plain_path = (not info.exists and info.file_okay and info.dir_okay and not info.writable
                      and not info.resolve_path and not info.allow_dash and info.path_type is None)
        if annotation is Path and plain_path:
            return cls(annotation, info)
        return None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        many = param.multiple or param.nargs == -1
        if value is None:
            return () if many else None
        try:
            if not many:
                return self.one(value)
            if isinstance(value, str):
                raise ValueError("Value must be an iterable.")
            return [self.one(item) for item in value]
        except ValueError as exc:
            raise typer.BadParameter(str(exc), ctx=ctx, param=param) from None

    def one(self, value: Any) -> Any:
        kind = self.kind
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return value
        if issubclass(kind, Enum):
            key = str(value.value if isinstance(value, Enum) else value)
            for choice in kind:
                name = str(choice.value)
                if name == key or (not self.case_sensitive and name.casefold() == key.casefold()):
                    return choice
            raise ValueError(f"{value!r} is not one of {', '.join(repr(str(c.value)) for c in kind)}.")
        if kind is bool:
            word = str(value).strip().lower()
            if word in self.TRUE or word in self.FALSE:
                return word in self.TRUE
            raise ValueError(f"{value!r} is not a valid boolean.")
        if kind is str or kind is Path:
            return kind(value)
        try:
            number = kind(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"{value!r} is not a valid {kind.__name__}.") from None
        if (self.low is not None and number < self.low) or (self.high is not None and number > self.high):
            low = "" if self.low is None else f"{self.low}<="
            high = "" if self.high is None else f"<={self.high}"
            raise ValueError(f"{number} is not in the range {low}x{high}.")
        return number


def plain_values(command: Any) -> Any:
    """``command`` with its parameters, --help included, converted by :class:`PlainValue` where they can be
    (typer 0.29+; earlier typer converts through click's types, which need nothing of this)."""
    for param in getattr(command, "params", ()):
        plain_value(param)
    help_option = command.get_help_option  # made on first use, for each command
    command.get_help_option = lambda ctx: plain_value(help_option(ctx))
    return command


def plain_value(param: Any) -> Any:
    """``param`` converted by :class:`PlainValue` if it can be."""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None and getattr(param, "_runtime_param", "") is None:
        plain = PlainValue.of(descriptor.annotation, descriptor.parameter_info)
        if plain is not None:
            param._runtime_param = plain
    return param
