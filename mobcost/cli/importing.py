"""`mobcost import`: an ONNX file or a torch module → an ordinary spec (YAML), for every other command; and
`mobcost export`, the other way: a spec → the ONNX (or .tflite) model mobcost times under a runtime."""

from __future__ import annotations

import re
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import OptionError
from ..files import write_atomic
from ..graph import build
from ..report.formats import clean
from .common import AlphaOpt, OutputOpt, ResolutionOpt, RhoOpt, SpecArg, app, emit, friendly, load

if TYPE_CHECKING:
    from ..importers import ImportResult

SHAPE = re.compile(r"^\s*(\d+)\s*[x×,]\s*(\d+)\s*[x×,]\s*(\d+)\s*$")
# The runtimes that run a model file, and its extension. Only these are export's --runtime choices: eager
# torch has no model file, and offering it in --help only to refuse it misled.
EXTENSIONS = {"onnxruntime": ".onnx", "litert": ".tflite"}
ExportRuntime = StrEnum("ExportRuntime", {name: name for name in EXTENSIONS})  # type: ignore[misc]


@app.command("import")
@friendly
def import_model(
    model: Annotated[Path | None, typer.Argument(help="An ONNX file (.onnx) or a TFLite model (.tflite, int8 or "
                                                 "float). Not with --torch.",
                                                 show_default=False)] = None,
    torch_factory: Annotated[str | None, typer.Option(
        "--torch", help="A torch module instead: `package.module:factory`, any importable callable that returns "
        "an nn.Module (exported to ONNX in memory, BatchNorm kept).", show_default=False)] = None,
    input_shape: Annotated[str | None, typer.Option(
        "--input", help="The input as CxHxW. With --torch: the shape to export at (default 3x224x224); with an "
        "ONNX file: the sizes of its free (dynamic) input dimensions, each fixed one must agree.",
        show_default=False)] = None,
    dynamo: Annotated[bool, typer.Option("--dynamo", help="With --torch: use torch's dynamo ONNX exporter "
                                         "(default: the TorchScript one).")] = False,
    opset: Annotated[int | None, typer.Option("--opset", min=7, max=30, help="With --torch: the ONNX opset to "
                                              "export with (default: the exporter's).", show_default=False)] = None,
    allow_unknown: Annotated[bool, typer.Option("--allow-unknown", help="Import what can be mapped; list the "
                                                "operators left out (in the spec and on stderr).")] = False,
    reparameterize: Annotated[bool, typer.Option("--reparameterize", help="With --torch: fold train-time branches "
                                                 "(RepVGG, MobileOne, FastViT, RepViT) as the model deploys, by its "
                                                 "own fuse() / reparameterize() / switch_to_deploy(), and count "
                                                 "that graph (default: the module as given).")] = False,
    output: OutputOpt = None,
) -> None:
    """Write a spec for an ONNX file, a .tflite model or a PyTorch module (standard output without -o).

    One layer per operator that costs or shapes something, named after the ONNX node (or the torch module
    path), with `from:` for branches; Conv → BatchNorm → activation becomes one layer. An operator mobcost
    cannot map is an error naming it — never a silent zero — unless --allow-unknown.
    """
    if (model is None) == (torch_factory is None):
        raise OptionError("give an ONNX or .tflite file, or --torch package.module:factory (one of them)",
                          where="MODEL")
    if torch_factory is not None:
        result = _from_torch(torch_factory, _shape(input_shape or "3x224x224"), dynamo, opset, allow_unknown,
                             reparameterize)
    else:
        if dynamo or opset is not None or reparameterize:
            raise OptionError("--dynamo, --opset and --reparameterize apply to --torch only",
                              where="--dynamo/--opset/--reparameterize")
        result = _from_file(model, input_shape, allow_unknown)  # type: ignore[arg-type]
    emit(result.yaml, output)
    _left_out(result)


def _from_file(model: Path, input_shape: str | None, allow_unknown: bool) -> ImportResult:
    """An ONNX or .tflite file's import."""
    _not_a_spec(model, input_shape)
    from ..importers import onnx_to_spec, tflite_to_spec

    if model.suffix.lower() == ".tflite":
        if input_shape is not None:
            raise OptionError("a .tflite model's input has fixed dimensions; --input is for ONNX files and --torch",
                              where="--input")
        return tflite_to_spec(model, allow_unknown=allow_unknown)
    shape = _shape(input_shape) if input_shape is not None else None
    return onnx_to_spec(model, allow_unknown=allow_unknown, input_shape=shape)


def _left_out(result: ImportResult) -> None:
    for item in result.unmapped:
        print(f"mobcost: left out: {clean(item.line())}", file=sys.stderr)


def _not_a_spec(model: Path, input_shape: str | None) -> None:
    """A spec given to import: it needs no importing, and its ``input:`` already says what --input would (read
    as ONNX it was a protobuf decoding error that said neither)."""
    if model.suffix.lower() not in (".yaml", ".yml"):
        return
    given = "; --input is for ONNX files and --torch" if input_shape else ""
    raise OptionError(f"is a spec already (every command takes it as SPEC): its `input:` gives the input, --rho or "
                      f"--resolution change its size{given}", file=str(model))


def _shape(text: str) -> tuple[int, int, int]:
    match = SHAPE.match(text)
    if not match or not all(0 < int(v) <= 1_000_000_000 for v in match.groups()):
        raise OptionError(f"expected CxHxW like 3x224x224, got {text!r}", where="--input")
    c, h, w = (int(v) for v in match.groups())
    return c, h, w


def _from_torch(target: str, shape: tuple[int, int, int], dynamo: bool, opset: int | None,
                allow_unknown: bool, reparameterize: bool) -> ImportResult:
    from ..torchside import require_torch

    require_torch()
    from ..torchside.export import check_input_shape, import_torch, load_factory
    from ..torchside.reparam import note

    check_input_shape(shape, where="--input")  # before the user's code runs
    name = target.rpartition(":")[2].rpartition(".")[2]  # the factory's name, not the module's class
    module = load_factory(target)
    result = import_torch(module, shape, dynamo=dynamo, opset=opset, allow_unknown=allow_unknown, name=name,
                          reparameterize=reparameterize)
    if not reparameterize and (said := note(module, folded=False)):  # the spec's header says it too
        print(f"mobcost: note: {said.removeprefix('; ')}", file=sys.stderr)
    return result


@app.command("export")
@friendly
def export_model(
    spec: SpecArg = None,
    alpha: AlphaOpt = 1.0,
    rho: RhoOpt = None,
    resolution: ResolutionOpt = None,
    runtime: Annotated[ExportRuntime | None, typer.Option("--runtime", help="onnxruntime (an ONNX file) or litert (a "
                                                          ".tflite file); default: from the output's "
                                                          "extension.", show_default=False)] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="The model file to write (atomically): "
                                                ".onnx or .tflite (default model.onnx, or model.tflite with "
                                                "--runtime litert).", show_default=False)] = None,
    int8: Annotated[bool, typer.Option("--int8", help="A full-integer .tflite, as a microcontroller runs it: the "
                                       "float conversion quantized by ai-edge-quantizer (int8 weights per "
                                       "channel and activations, int32 biases), calibrated on 8 random inputs "
                                       "from a fixed seed.")] = False,
) -> None:
    """Write the model `latency --runtime` times: mobcost's torch build of SPEC (weights drawn from a fixed
    seed), exported as deployed (BatchNorm folded, batch 1), so any other tool can time the same file.

    With --int8: the full-integer .tflite that `memory m.tflite --measure` allocates in TensorFlow Lite Micro.
    """
    from .sweep import check_output
    from .timing import require_runtime

    if int8 and (runtime not in (None, ExportRuntime("litert")) or (output and output.suffix.lower() == ".onnx")):
        raise OptionError("writes a .tflite (LiteRT's format): give -o NAME.tflite", where="--int8")
    name, output = export_target(ExportRuntime("litert") if int8 and runtime is None else runtime, output)
    check_output(output)
    graph = build(load(spec), alpha, rho, resolution)
    if int8:
        from ..runtimes.litert.quantize import export_int8, require_quantizer

        require_quantizer()  # first: its message names --int8 and the extra that brings LiteRT too
        require_runtime(name)
        model = export_int8(graph)
    else:
        from ..runtimes import runtime as runtime_named

        require_runtime(name)
        model = runtime_named(name).export(graph)
    write_atomic(output, model)
    print(f"wrote {clean(output)}: {clean(graph.spec.name)} at α={graph.alpha:g}, {graph.input.h}×{graph.input.w} px, "
          f"for {name}{' (int8)' if int8 else ''}", file=sys.stderr)


def export_target(runtime: ExportRuntime | None, output: Path | None) -> tuple[str, Path]:
    """The runtime and file of an export: each follows from the other; a file whose extension names the other
    runtime's format is refused (an ONNX model in ``x.tflite`` would only mislead the next tool)."""
    by_extension = {ext: rt for rt, ext in EXTENSIONS.items()}
    if runtime is None:
        suffix = Path(output).suffix.lower() if output is not None else ".onnx"
        if suffix not in by_extension:
            raise OptionError("use a .onnx or .tflite file name, or say --runtime", where="--output")
        name = by_extension[suffix]
    else:
        name = ExportRuntime(runtime).value
    path = Path(output) if output is not None else Path(f"model{EXTENSIONS[name]}")
    if path.suffix.lower() in by_extension and by_extension[path.suffix.lower()] != name:
        raise OptionError(f"a {name} model does not go in a {path.suffix} file; use {EXTENSIONS[name]}",
                          file=str(path), where="--output")
    return name, path
