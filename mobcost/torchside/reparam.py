"""Structural reparameterisation: the deployed graph of a model trained with parallel branches.

RepVGG, MobileOne, FastViT, RepViT and their kin train each block as several branches (k×k conv + BN, 1×1 conv +
BN, an identity BN, …) and, for deployment, fold them into one convolution with a bias. Counted as the module is
given, such a block costs all its branches; the deployed model costs one. mobcost counts the module as given and
says so; ``reparameterize=True`` counts the deployed one.

The module says how it folds itself, by the convention timm's ``reparameterize_model`` walks (and Apple's
ml-mobileone before it): a child with ``fuse()`` is replaced by the module that call returns (RepViT's conv-BN
pairs), a child with ``reparameterize()`` or ``switch_to_deploy()`` folds itself in place (MobileOne, FastViT,
RepVGG). mobcost writes no folding of its own: a block that offers none is counted as given.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..errors import OptionError

IN_PLACE = ("reparameterize", "switch_to_deploy")  # fold the module itself
REPLACING = "fuse"  # returns the module that replaces it


def foldable(module: nn.Module) -> list[str]:
    """The paths of the submodules that offer a deployment folding (outermost only: a folding block folds its
    own children)."""
    found: list[str] = []

    def walk(m: nn.Module, prefix: str) -> None:
        for name, child in m.named_children():
            path = f"{prefix}{name}"
            if _offers(child):
                found.append(path)
            else:
                walk(child, f"{path}.")

    walk(module, "")
    return found


def _offers(m: nn.Module) -> bool:
    return any(callable(getattr(m, method, None)) for method in (REPLACING, *IN_PLACE))


def reparameterize(module: nn.Module) -> nn.Module:
    """A deep copy of ``module`` (in eval mode) with every foldable block folded as the block itself does it; the
    given module is left as it was."""
    folded = copy.deepcopy(module).eval()
    with torch.no_grad():
        _fold(folded, "")
    return folded


def _fold(m: nn.Module, prefix: str) -> None:
    for name, child in list(m.named_children()):
        path = f"{prefix}{name}"
        if callable(getattr(child, REPLACING, None)):
            replaced = _call(child, REPLACING, path)
            if not isinstance(replaced, nn.Module):  # some fuse() fold in place and return None
                replaced = child
            setattr(m, name, replaced)
            continue
        method = next((x for x in IN_PLACE if callable(getattr(child, x, None))), None)
        if method is not None:
            _call(child, method, path)
            continue
        _fold(child, f"{path}.")


def _call(child: nn.Module, method: str, path: str) -> object:
    try:
        return getattr(child, method)()
    except Exception as exc:  # the user's code: name the block, not a traceback
        raise OptionError(f"{type(child).__name__}.{method}() failed: {type(exc).__name__}: {exc}",
                          where=path or "module") from None


def note(module: nn.Module, folded: bool) -> str:
    """The import's provenance line about foldable blocks ('' when the module has none)."""
    paths = foldable(module)
    if not paths:
        return ""
    if folded:
        return f"; reparameterized: {len(paths)} blocks folded as deployed ({paths[0]}, …)"
    return (f"; counted as given: {len(paths)} blocks ({paths[0]}, …) fold into single convolutions when deployed "
            "(reparameterize=True / --reparameterize counts that graph)")
