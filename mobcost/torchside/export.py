"""A torch module → a spec, through ``torch.onnx.export`` to an in-memory ONNX model and the ONNX importer.

BatchNorm stays visible, so params and BN params equal the module's exactly: the TorchScript exporter
(``dynamo=False``) keeps BatchNormalization nodes in eval mode with ``do_constant_folding=False`` (with constant
folding on, it folds them into the convolutions, which then carry biases); the dynamo exporter keeps them with
``optimize=False`` (its optimizer folds them the same way). ``fold_bn=True`` exports the folded graph instead.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from ..errors import MobcostError, OptionError
from ..importers import ImportResult, onnx_to_spec


def export_onnx(module: nn.Module, input_shape: tuple[int, ...] = (3, 224, 224), *, dynamo: bool = False,
                opset: int | None = None, fold_bn: bool = False) -> bytes:
    """The ONNX model of ``module`` (batch 1, eval mode) as bytes; the module's own mode is restored after."""
    check_input_shape(input_shape)
    example = (torch.zeros(1, *input_shape),)
    was_training = module.training
    module.eval()
    try:
        with _quiet(), torch.no_grad():
            return _export(module, example, dynamo, opset, fold_bn)
    except MobcostError:
        raise
    except Exception as exc:  # the exporters raise many types; the user needs the one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise MobcostError(f"torch.onnx.export ({_exporter(dynamo)}) failed: {first}") from None
    finally:
        module.train(was_training)


def _export(module: nn.Module, example: tuple[torch.Tensor, ...], dynamo: bool, opset: int | None,
            fold_bn: bool) -> bytes:
    kwargs: dict[str, Any] = {} if opset is None else {"opset_version": opset}
    if dynamo:
        program = torch.onnx.export(module, example, None, dynamo=True, optimize=fold_bn, verbose=False, **kwargs)
        return program.model_proto.SerializeToString()
    buffer = io.BytesIO()
    torch.onnx.export(module, example, buffer, dynamo=False, training=torch.onnx.TrainingMode.EVAL,
                      do_constant_folding=fold_bn, **kwargs)
    return buffer.getvalue()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporters warn and print progress on every call; an import prints only its own result."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "onnxscript", "torch._dynamo")]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.setLevel(level)


# Importing runs the module once on a real input: past 8 Mi elements (3×2048×1365; a Cityscapes frame is
# 3×1024×2048) its activations alone run to GBs. Counts at another size come from `--resolution` instead.
MAX_INPUT_ELEMENTS = 1 << 23


def check_input_shape(shape: tuple[int, ...], where: str = "input_shape") -> None:
    """Three positive integers, small enough to run the module on (``MAX_INPUT_ELEMENTS``)."""
    if len(shape) != 3 or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in shape):
        raise OptionError(f"input_shape must be three positive integers C, H, W, got {shape!r}",
                          where=where)
    if shape[0] * shape[1] * shape[2] > MAX_INPUT_ELEMENTS:
        raise OptionError(f"an input of {shape[0]}×{shape[1]}×{shape[2]} is more than {MAX_INPUT_ELEMENTS:,} "
                          "elements to run the module on: import it at a smaller size and scale it with "
                          "--resolution or --rho", where=where)


def import_torch(module: nn.Module, input_shape: tuple[int, ...] = (3, 224, 224), *, dynamo: bool = False,
                 opset: int | None = None, allow_unknown: bool = False, name: str | None = None,
                 reparameterize: bool = False) -> ImportResult:
    """The :class:`ImportResult` of ``module`` (see :func:`from_torch`)."""
    from .reparam import note
    from .reparam import reparameterize as fold

    if not isinstance(module, nn.Module):
        raise OptionError(f"expected a torch.nn.Module, got {type(module).__name__}", where="module")
    counted = fold(module) if reparameterize else module
    data = export_onnx(counted, input_shape, dynamo=dynamo, opset=opset)
    cls = type(module)
    source = (f"torch module {cls.__module__}.{cls.__qualname__} via torch.onnx.export ({_exporter(dynamo)})"
              f"{note(module, reparameterize)}")
    return onnx_to_spec(data, allow_unknown=allow_unknown, name=name or cls.__name__, source=source)


def _exporter(dynamo: bool) -> str:
    return "dynamo" if dynamo else "TorchScript"


def from_torch(module: nn.Module, input_shape: tuple[int, ...] = (3, 224, 224), *, dynamo: bool = False,
               opset: int | None = None, allow_unknown: bool = False, name: str | None = None,
               reparameterize: bool = False) -> str:
    """The spec YAML of a torch module: exported to ONNX in memory (BatchNorm kept), then imported. A model with
    train-time branches (RepVGG, MobileOne, FastViT, RepViT) is counted as given; ``reparameterize=True`` folds
    its blocks first, as they deploy (:mod:`.reparam`)."""
    return import_torch(module, input_shape, dynamo=dynamo, opset=opset, allow_unknown=allow_unknown,
                        name=name, reparameterize=reparameterize).yaml


def load_factory(target: str, **kwargs: Any) -> nn.Module:
    """``package.module:factory`` → the ``nn.Module`` the factory returns (``--torch`` on the CLI)."""
    # As `python -m` and uvicorn do: a user's own package in the current folder is importable by name, even
    # when the `mobcost` script's folder (not the current one) heads sys.path.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise OptionError(f"expected package.module:factory, got {target!r}", where="--torch")
    owner: Any = _run_user_code(lambda: importlib.import_module(module_name), f"importing {module_name!r}",
                                cannot=f"cannot import {module_name!r}")
    for part in attr.split("."):
        if not hasattr(owner, part):
            raise OptionError(f"{module_name!r} has no attribute {attr!r}", where="--torch")
        owner = getattr(owner, part)
    if not callable(owner):
        raise OptionError(f"{target} is not callable", where="--torch")
    result = _run_user_code(lambda: owner(**kwargs), f"{target}()")
    if not isinstance(result, nn.Module):
        raise OptionError(f"{target}() returned {type(result).__name__}, not a torch.nn.Module", where="--torch")
    return result


def _run_user_code(call: Any, what: str, cannot: str | None = None) -> Any:
    """Run a user's module or factory: whatever it raises, a syntax error or ``sys.exit`` included, becomes
    one located line (a factory that exits would otherwise end mobcost with its status and no output)."""
    try:
        return call()
    except SystemExit as exc:
        raise OptionError(f"{what} called sys.exit({exc.code!r}) instead of returning a module",
                          where="--torch") from None
    except ImportError as exc:
        if cannot is None:
            raise OptionError(f"{what} raised ImportError: {exc}", where="--torch") from None
        raise OptionError(f"{cannot}: {exc}", where="--torch") from None
    except SyntaxError as exc:
        raise OptionError(f"{what}: syntax error in {exc.filename}:{exc.lineno}: {exc.msg}", where="--torch") from None
    except Exception as exc:  # the user's code: report it as one line
        raise OptionError(f"{what} raised {type(exc).__name__}: {exc}", where="--torch") from None
