"""The ``mobcost`` command line: one small module per command group, each parsing its options, calling the
library and handing the result to a view. ``common.COMMANDS`` names every command, its module and its one-line
help, in the order ``mobcost --help`` lists them; a command's module is imported only when the command runs
(or shows its own help), so each command starts with only what it uses."""

from __future__ import annotations

from .common import app

__all__ = ["app"]
