"""What every command shares: the typer app, its common options, one-line errors, and where output goes.

Each command module parses its options, calls the library and hands the result to a view in
:mod:`mobcost.report`; this module writes the view's text to standard output or, atomically, to a file.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from ..errors import MobcostError
from ..report.formats import Format, json_text, records_text, rich_text
from ..spec import Spec, load_spec, resolve_spec_path
from ..version import __version__

app = typer.Typer(
    help="Closed-form cost model and architecture explorer for efficient CNNs (MobileNets, Howard et al. 2017).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # docstring paragraphs wrap to the terminal; `code` renders as code
    context_settings={"help_option_names": ["-h", "--help"]},
)

F = TypeVar("F", bound=Callable[..., Any])

SpecArg = Annotated[
    str | None,
    typer.Argument(help="Spec file, or a bundled spec's name (see `mobcost specs`). Default: mobilenet_v1.",
                   show_default=False),
]
AlphaOpt = Annotated[float, typer.Option("--alpha", "-a", help="Width multiplier α in (0, 1].")]
RhoOpt = Annotated[float | None, typer.Option("--rho", "-r", help="Resolution multiplier ρ in (0, 1]: "
                                              "input size becomes round(ρ·size).", show_default=False)]
ResolutionOpt = Annotated[int | None, typer.Option("--resolution", "-R", help="Input size in pixels "
                                                   "(instead of --rho).", show_default=False)]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (atomically) "
                                                "instead of standard output.", show_default=False)]


def friendly(func: F) -> F:
    """Turn a MobcostError into ``mobcost: error: <place>: <message>`` on stderr and exit status 2."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MobcostError as exc:
            print(f"mobcost: error: {exc}", file=sys.stderr)
            raise typer.Exit(2) from None

    return run  # type: ignore[return-value]


def load(spec: str | None) -> Spec:
    return load_spec(resolve_spec_path(spec))


def emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    from ..files import write_atomic

    write_atomic(output, text if text.endswith("\n") else text + "\n")
    print(f"wrote {output}", file=sys.stderr)


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="rich, json, csv, markdown or latex.")]

def emit_records(records: list[dict[str, Any]], fmt: Format, output: Path | None) -> None:
    """Flat records as csv, markdown or LaTeX (see ``report.formats.records_text``)."""
    emit(records_text(records, fmt), output)


def emit_json(doc: Any, output: Path | None) -> None:
    emit(json_text(doc), output)


def render_rich(*tables: Any, output: Path | None) -> None:
    """Rich renderables to the terminal, or as plain text (120 columns) to ``output``."""
    if output is None:
        from rich.console import Console

        console = Console()
        for t in tables:
            console.print(t)
        return
    emit(rich_text(*tables), output)


@contextlib.contextmanager
def progress_bar(total: int, label: str, *, enabled: bool) -> Iterator[Callable[[float], None]]:
    """A rich progress bar on stderr for long work; a no-op callback otherwise."""
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)


# More torch threads than cores only oversubscribes them (1,024 threads on 2 cores ran a minute per layer).
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
ThreadsOpt = Annotated[int, typer.Option("--threads", "-t", min=1, max=CORES, help="CPU threads for torch (fixed, "
                                          f"for repeatable timings; at most this machine's {CORES} cores).")]


def version_callback(value: bool) -> None:
    if value:
        print(f"mobcost {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=version_callback, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Closed-form cost model and architecture explorer for efficient CNNs."""
