"""Cold-start wall time of importing a deep ONNX model: `onnx_to_spec` on a chain of N conv 3×3 → BatchNorm →
ReLU blocks (3 N nodes, the shape of a 200-layer exported network), each run in a fresh interpreter, as
`mobcost import model.onnx` would start. Prints the median and spread over R runs beside a bare interpreter's
start, so the figure can be read as a ratio on any machine. Not a test: the suite checks that such a model
imports (tests/test_import_onnx.py, 200 layers, torch never loaded); how fast it does is measured here. It used
to be asserted there as "under 2 s", which failed at 2.04 s on a loaded machine.

    python benchmarks/import_onnx.py [BLOCKS] [RUNS]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def chain_model(path: Path, blocks: int, channels: int = 32, size: int = 56) -> None:
    """`blocks` × (conv 3×3, padding 1 → BatchNormalization → Relu) on a 1×3×size×size input."""
    rng = np.random.default_rng(0)
    nodes, inits, last, cin = [], [], "x", 3
    for i in range(blocks):
        prefix = f"/blocks/blocks.{i}"
        w = numpy_helper.from_array(rng.standard_normal((channels, cin, 3, 3)).astype(np.float32), f"w{i}")
        bn = [numpy_helper.from_array(np.ones(channels, np.float32), f"bn{i}.{j}") for j in range(4)]
        inits += [w, *bn]
        nodes.append(helper.make_node("Conv", [last, w.name], [f"c{i}"], name=f"{prefix}/conv/Conv",
                                      kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("BatchNormalization", [f"c{i}", *(t.name for t in bn)], [f"b{i}"],
                                      name=f"{prefix}/bn/BatchNormalization"))
        nodes.append(helper.make_node("Relu", [f"b{i}"], [f"r{i}"], name=f"{prefix}/act/Relu"))
        last, cin = f"r{i}", channels
    graph = helper.make_graph(
        nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info(last, TensorProto.FLOAT, [1, channels, size, size])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def timed(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(blocks: int = 200, runs: int = 10) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "deep.onnx"
        chain_model(path, blocks)
        code = f"from mobcost.importers import onnx_to_spec\nassert onnx_to_spec({str(path)!r}).layers == {blocks}"
        timed(code)  # warm the OS file cache: a cold disk is not the importer
        baseline = statistics.median(timed("pass") for _ in range(runs))
        walls = sorted(timed(code) for _ in range(runs))
    print(f"onnx_to_spec on a {blocks}-layer chain ({3 * blocks} nodes), {runs} fresh processes")
    print(f"  wall time: median {statistics.median(walls):.2f} s, min {walls[0]:.2f} s, max {walls[-1]:.2f} s")
    print(f"  bare interpreter: median {baseline * 1000:.0f} ms")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
