"""`export --int8` settles BatchNorm statistics by running batches of 8 random inputs through the torch build in
train mode before converting (mobcost.runtimes.litert.quantize.settle). Every bundled network's build must take
a batch of 8 there — DeiT-Tiny's class token once did not (a batch-1 concat: a traceback instead of a file).
This path needs torch only, not LiteRT, so it runs in CI."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.slow  # 38 torch builds

from mobcost.errors import MobcostError  # noqa: E402
from mobcost.graph import Graph, build  # noqa: E402
from mobcost.runtimes.litert.quantize import settle  # noqa: E402
from mobcost.spec import bundled_names, load_bundled  # noqa: E402
from mobcost.torchside.build import graph_module  # noqa: E402


def _small_graph(name: str) -> Graph:
    spec = load_bundled(name)
    for resolution in (64, 96, 128, 300, None):  # the smallest size the network takes (SSD300-VGG16: 268 px up)
        try:
            return build(spec, alpha=0.25, resolution=resolution)
        except MobcostError:
            continue
    raise AssertionError(f"{name} builds at no size tried")


@pytest.mark.parametrize("name", bundled_names())
def test_every_bundled_build_takes_the_settling_batches(name: str) -> None:
    graph = _small_graph(name)
    module = graph_module(graph)
    # one batch of 2: any batch past 1 is what the builds must take (export --int8 runs 4 of 8)
    settle(module, (graph.input.c, graph.input.h, graph.input.w), seed=0, batches=1, size=2)
    assert not module.training
    stats = [m.running_mean for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert all(torch.any(s != 0) for s in stats)  # the batch went through every BatchNorm
