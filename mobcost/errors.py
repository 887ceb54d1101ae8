"""Errors that carry the place they point at, so the CLI can print one line and exit 2."""

from __future__ import annotations


class MobcostError(Exception):
    """A user-facing error: ``file:line:col: where: message`` with whichever parts are known."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        where: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.where = where

    def __str__(self) -> str:
        place = self.file or ""
        if self.line is not None:
            place += f":{self.line}"
            if self.column is not None:
                place += f":{self.column}"
        parts = [p for p in (place, self.where) if p]
        return ": ".join([*parts, self.message])


class SpecError(MobcostError):
    """The spec text is not valid YAML, breaks the spec grammar, or exceeds a limit."""


class ShapeError(MobcostError):
    """The spec is well-formed but its layers do not fit together (shapes, groups, references)."""


class OptionError(MobcostError):
    """A command-line option or API argument is out of range or contradicts another."""


class MissingExtraError(MobcostError):
    """An optional dependency (torch, fvcore) is needed for this path and is not installed."""
