"""What every command shares: the typer app and its list of commands (:data:`COMMANDS`, each loaded only when
used), its common options, one-line errors, and where output goes.

Each command module parses its options, calls the library and hands the result to a view in
:mod:`mobcost.report`; this module writes the view's text to standard output or, atomically, to a file.

Every error the command line reports — a library error, a bad argument caught while parsing, an output that
cannot be written — is one line on standard error, ``mobcost: error: <place>: <message>``, exit status 2
(:class:`MobcostGroup` and :func:`friendly`). Standard output closed by its reader (``| head``) ends the run
quietly, as Unix tools do.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import importlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup
from typer.main import get_command_from_info, get_command_name

from ..errors import MobcostError
from ..files import inputs_guarded
from ..layers.convention_names import CONVENTION_NAMES
from ..report.formats import Format, clean, json_text, records_text
from ..version import __version__
from .values import plain_values

if TYPE_CHECKING:
    from ..spec import Spec

F = TypeVar("F", bound=Callable[..., Any])

# click's exception classes, whether typer vendors click (0.2x) or depends on it
_CLICK_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT, errno.EPIPE}
EXIT_ERROR = 2
EXIT_PIPE = 128 + 13  # what a shell reports for a tool ended by SIGPIPE


# Every command, in the order `mobcost --help` lists them: its name, its module, and its one-line help (the first
# paragraph of its docstring; tests/test_cli.py checks they agree). A command's module is imported only when it
# runs or shows its own help, so a run of `mobcost table` never pays for the sweep, the plots or the runtimes.
COMMANDS: dict[str, tuple[str, str]] = {
    "table": ("table", "Mult-Adds, parameters and memory access of a network at width α and resolution ρ."),
    "specs": ("table", "List the bundled specs with their totals at α=1 and their own input size."),
    "validate": ("table", "Check a spec (syntax, keys, types, shapes) and say where it is wrong."),
    "paper": ("paper", "Regenerate the MobileNets paper's Tables 1–14 from specs, side by side with the published "
                       "figures."),
    "sweep": ("sweep", "Evaluate every (α, resolution) design point: costs, peak activation, latency, energy, "
                       "accuracy, budgets."),
    "plot": ("plot", "Draw a figure (png, svg or pdf)."),
    "calibrate": ("latency", "Measure this machine with microbenchmarks and write a hardware profile for a runtime."),
    "latency": ("latency", "Predicted latency per layer, per layer type and in total; measured beside it with "
                           "--measure."),
    "check": ("check", "Cross-check every layer's closed-form counts against fvcore and torch's FlopCounterMode."),
    "explain": ("explain", "Break the difference between two conventions' totals into named causes that sum to it "
                           "exactly."),
    "memory": ("memory", "Will it fit? Activation arena, RAM and flash of one design point."),
    "import": ("importing", "Write a spec for an ONNX file, a .tflite model or a PyTorch module (standard output "
                            "without -o)."),
    "export": ("importing", "Write the model `latency --runtime` times: mobcost's torch build of SPEC (weights drawn "
                            "from a fixed\nseed), exported as deployed (BatchNorm folded, batch 1), so any other tool "
                            "can time the same file."),
    "schema": ("schema", "Print the JSON Schema of the spec format (for editor completion and validation)."),
}


class LazyCommand(TyperCommand):
    """A command known by its name and one-line help (enough for the group's help) until a context is made
    for it — to run it, show its help or complete it: then its module is imported and the real command built."""

    def __init__(self, name: str, module: str, help_line: str) -> None:
        super().__init__(name, help=help_line)
        self.module = f"{__package__}.{module}"
        self._real: Any = None

    def real(self) -> Any:
        """The command as typer builds it from the module's ``@app.command()``."""
        if self._real is None:
            importlib.import_module(self.module)
            info = next(c for c in app.registered_commands
                        if (c.name or get_command_name(c.callback.__name__)) == self.name)  # type: ignore[union-attr]
            self._real = plain_values(get_command_from_info(info, pretty_exceptions_short=app.pretty_exceptions_short,
                                                            rich_markup_mode=app.rich_markup_mode))
        return self._real

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        return self.real().make_context(info_name, args, parent=parent, **extra)


class MobcostGroup(TyperGroup):
    """The app's command group: every command of :data:`COMMANDS`, loaded when used; argument-parsing errors
    become one line, like every other error (help output is unchanged)."""

    def __init__(self, *, commands: dict[str, Any] | None = None, **kwargs: Any) -> None:
        given = dict(commands or {})  # the commands whose modules were already imported (a test's, say)
        ordered = {name: given.pop(name, None) or LazyCommand(name, *COMMANDS[name]) for name in COMMANDS}
        super().__init__(commands={**ordered, **given}, **kwargs)
        for command in self.commands.values():
            if not isinstance(command, LazyCommand):
                plain_values(command)
        plain_values(self)

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:  # a caller that handles click's exceptions itself
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        sys.exit(self.run(args, prog_name, complete_var, **extra))

    def run(self, args: Sequence[str] | None, prog_name: str | None, complete_var: str | None, **extra: Any) -> int:
        """Run the command line; the exit status."""
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            sys.stdout.flush()  # a full disk or a closed pipe is reported now, not by Python at exit
        except _CLICK_ERROR as exc:
            if type(exc).__name__ != "NoArgsIsHelpError":  # `mobcost` alone: the help was shown
                _say(usage_error_line(exc))
            return EXIT_ERROR
        except typer.Abort:
            _say("mobcost: error: aborted")
            return 1
        except OSError as exc:
            return os_error_exit(exc)
        return code if isinstance(code, int) else 0


def usage_error_line(exc: Any) -> str:
    """A click usage error as ``mobcost: error: --format: 'xml' is not one of …`` (see … --help)."""
    param = getattr(exc, "param", None)
    if param is not None:
        argument = getattr(param, "param_type_name", "") == "argument" or not getattr(param, "opts", None)
        # click's human_readable_name (typer's vendored click, from 0.29, has only the metavar and the name)
        name = getattr(param, "human_readable_name", None) or param.metavar or param.name
        place = name.upper() if argument else max(param.opts, key=len)
    else:
        place = getattr(exc, "option_name", None) or ""
    kind = type(exc).__name__
    if kind == "MissingParameter":
        message = f"missing {getattr(param, 'param_type_name', 'value')}"
    elif kind == "NoSuchOption":
        possible = sorted(getattr(exc, "possibilities", None) or [])
        message = "no such option" + (f" (did you mean {', '.join(possible)}?)" if possible else "")
    elif kind == "BadOptionUsage" and "requires an argument" in exc.message:
        message = "needs a value"
    else:
        message = getattr(exc, "message", "") or exc.format_message()
        # typer 0.29+ checks values with pydantic, which prefixes the message of a ValueError it caught
        message = message.removeprefix("Value error, ")
    ctx = getattr(exc, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    parts = [p for p in (place, message.rstrip(".")) if p]
    return "mobcost: error: " + clean(": ".join(parts) + hint)


app = typer.Typer(
    help="Closed-form cost model and architecture explorer for efficient CNNs (MobileNets, Howard et al. 2017).",
    cls=MobcostGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # docstring paragraphs wrap to the terminal; `code` renders as code
    context_settings={"help_option_names": ["-h", "--help"]},
)

SpecArg = Annotated[
    str | None,
    typer.Argument(help="Spec file, a bundled spec's name (see `mobcost specs`), or a model file to import "
                   "(.onnx, .tflite). Default: mobilenet_v1.",
                   show_default=False),
]
AlphaOpt = Annotated[float, typer.Option("--alpha", "-a", help="Width multiplier α > 0 (below 1 thins, above 1 "
                                         "widens), by the spec's own width rule.")]
RhoOpt = Annotated[float | None, typer.Option("--rho", "-r", help="Resolution multiplier ρ > 0 (above 1 for larger "
                                              "inputs): input size becomes round(ρ·size).", show_default=False)]
ResolutionOpt = Annotated[int | None, typer.Option("--resolution", "-R", help="Input size in pixels "
                                                   "(instead of --rho).", show_default=False)]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (atomically) "
                                                "instead of standard output.", show_default=False)]

# The library names its API parameters in errors (where="alpha"); the command line names its flags.
FLAGS = {"alpha": "--alpha", "rho": "--rho", "resolution": "--resolution", "classes": "--classes",
         "from": "--from", "to": "--to"}


def error_line(exc: MobcostError) -> str:
    """``mobcost: error: FILE:LINE:COL: WHERE: message``, one line, control characters removed."""
    where = exc.where
    if where is not None and exc.file is None:
        where = "/".join(FLAGS.get(part, part) for part in where.split("/"))
    place = exc.file or ""
    if exc.line is not None:
        place += f":{exc.line}" + (f":{exc.column}" if exc.column is not None else "")
    return "mobcost: error: " + clean(": ".join(p for p in (place, where, exc.message) if p))


def os_error_exit(exc: OSError) -> int:
    """An operating-system error that escaped the library: one line (or none for a closed pipe)."""
    if exc.errno == errno.EPIPE:
        _silence_stdout()
        return EXIT_PIPE
    if exc.filename is None and exc.errno in _OUTPUT_ERRNOS:
        _silence_stdout()
        _say(f"mobcost: error: standard output: {clean(exc.strerror or exc)}")
    else:
        place = f"{exc.filename}: " if exc.filename is not None else ""
        _say(f"mobcost: error: {clean(place)}{clean(exc.strerror or exc)}")
    return EXIT_ERROR


def friendly(func: F) -> F:
    """Turn a MobcostError (or a stray OSError) into one line on stderr and exit status 2."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            with inputs_guarded():  # an output of the command may not replace a file it reads
                return func(*args, **kwargs)
        except MobcostError as exc:
            _say(error_line(exc))
            raise typer.Exit(EXIT_ERROR) from None
        except OSError as exc:
            raise typer.Exit(os_error_exit(exc)) from None

    return run  # type: ignore[return-value]


def _say(line: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)


def _silence_stdout() -> None:
    """After standard output failed, send what is still buffered to /dev/null, so that Python's own flush
    at exit does not fail (and print a traceback) a second time."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def load(spec: str | None) -> Spec:
    """A spec file, a bundled spec's name, or an ONNX or .tflite file (imported on the fly; see `mobcost import`)."""
    if spec is not None and spec.lower().endswith(".onnx"):
        from ..importers import load_onnx

        return load_onnx(spec)
    if spec is not None and spec.lower().endswith(".tflite"):
        from ..importers import load_tflite

        return load_tflite(spec)
    from ..spec import load_spec, resolve_spec_path  # here: `mobcost --help` and `schema` read no spec

    return load_spec(resolve_spec_path(spec))


def emit(text: str, output: Path | None) -> None:
    text = text if text.endswith("\n") else text + "\n"
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()  # a full disk or a closed pipe is reported here, not at exit
        return
    from ..files import write_atomic

    write_atomic(output, text)
    _say(f"wrote {clean(output)}")


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="rich, json, csv, markdown or latex.")]

# The counting conventions (mobcost.layers.conventions), as choices: `paper` is the default Mult-Adds.
ConventionName = StrEnum("ConventionName", {name.replace("-", "_"): name for name in CONVENTION_NAMES})  # type: ignore[misc]
ConventionOpt = Annotated[ConventionName | None, typer.Option(
    "--convention", "-C", help="Also count under this convention: paper (the Mult-Adds), flops (2 per multiply-add), "
    "seed, or a tool's rules — fvcore, flop-counter, ptflops-pytorch, ptflops-aten, thop, torchinfo, onnx-tool. "
    "`mobcost explain` says why they differ.", show_default=False)]


def emit_records(records: list[dict[str, Any]], fmt: Format, output: Path | None, title: str | None = None) -> None:
    """Flat records as csv, markdown or LaTeX (see ``report.formats.records_text``)."""
    emit(records_text(records, fmt, title=title), output)


def emit_json(doc: Any, output: Path | None) -> None:
    emit(json_text(doc), output)


def render_rich(*tables: Any, output: Path | None) -> None:
    """Rich renderables to the terminal (fitted to its width; 80 columns in a pipe), or as plain text
    (120 columns) to ``output``. Names are shown as text: never markup, never control characters."""
    from ..report.terminal import SafeConsole, plain_text

    if output is None:
        console = SafeConsole()
        for t in tables:
            console.print(t)
        sys.stdout.flush()
        return
    emit(plain_text(*tables), output)


@contextlib.contextmanager
def progress_bar(total: int, label: str, *, enabled: bool) -> Iterator[Callable[..., None]]:
    """A rich progress bar on stderr for long work; a no-op callback otherwise. The callback advances by n and,
    given ``label=``, shows what runs now (a step that takes minutes is then not mistaken for a hang)."""
    if not enabled:
        yield lambda n, label=None: None
        return
    from rich.markup import escape
    from rich.progress import Progress

    from ..report.terminal import SafeConsole

    with Progress(console=SafeConsole(stderr=True), transient=True) as progress:
        task = progress.add_task(escape(clean(label)), total=total)  # the description is read as markup

        def advance(n: float, label: str | None = None) -> None:
            progress.update(task, advance=n, description=None if label is None else escape(clean(label)))

        yield advance


# More torch threads than cores only oversubscribes them (1,024 threads on 2 cores ran a minute per layer).
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
ThreadsOpt = Annotated[int, typer.Option("--threads", "-t", min=1, max=CORES, help="CPU threads of the runtime "
                                          f"(fixed, for repeatable timings; at most this machine's {CORES} cores).")]


class Runtime(StrEnum):
    torch = "torch"
    onnxruntime = "onnxruntime"
    litert = "litert"


RuntimeOpt = Annotated[Runtime, typer.Option("--runtime", help="Where the network runs: eager PyTorch, or exported "
                                             "from mobcost's torch build to ONNX Runtime or LiteRT (BatchNorm folded, "
                                             "activations fused, as deployed).")]


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
