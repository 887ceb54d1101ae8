"""The bundled MLPerf Tiny specs equal torch modules written from the benchmark's Keras definitions
(tests/mlperf_tiny_models.py), layer by layer: fvcore's Mult-Adds of every conv and linear in execution order,
and the Conv/Linear params (weights + biases) and BatchNorm γ+β."""

from __future__ import annotations

import pytest

from mobcost.analysis import analyze
from mobcost.spec import load_spec

# The totals, written out (fvcore on tests/mlperf_tiny_models.py; mobcost's closed forms give the same): Mult-Adds,
# params (weights + biases), BN γ+β. Keras's model.summary() "Total params" adds BN's moving mean and variance, one
# more γ+β: IC 77,706 + 2 × 480 = 78,666; KWS 22,604 + 2 × 1,152 = 24,908; AD 265,864 + 2 × 2,064 = 269,992.
# Published sizes are of the int8 .tflite files (weights, int32 biases, quantisation parameters, the flatbuffer):
# "DS-CNN model requires only 53KB", "325KB MobileNet", "ResNet model that has only 96KB of parameters", "270KB
# FC-AutoEncoder" (L. Gwennap, "MLPerf Gets Tiny", Linley Newsletter / Microprocessor Report, 2021-08-03).
EXPECTED = {
    "mlperf_tiny_vww": (7_489_664, 210_850, 5_472),
    "mlperf_tiny_ic": (12_501_632, 77_706, 480),
    "mlperf_tiny_kws": (2_656_768, 22_604, 1_152),
    "mlperf_tiny_ad": (264_192, 265_864, 2_064),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_totals(name: str) -> None:
    t = analyze(load_spec(name)).totals
    assert (t.mult_adds, t.params, t.bn_params) == EXPECTED[name]


@pytest.fixture(scope="module")
def torch_counts():
    torch = pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from fvcore.nn import FlopCountAnalysis
    from torch import nn

    from .mlperf_tiny_models import FACTORIES

    def count(name: str) -> tuple[list[int], int, int]:
        module, shape = FACTORIES[name]()
        module.eval()
        with torch.no_grad():
            analysis = FlopCountAnalysis(module, torch.zeros(shape))
            analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            by_module = analysis.by_module()
        weighted = [(n, m) for n, m in module.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)]
        layers = [by_module[n] for n, _ in weighted]  # named_modules follows construction = execution order here
        params = sum(p.numel() for _, m in weighted for p in m.parameters())
        bn = sum(m.weight.numel() + m.bias.numel() for m in module.modules()
                 if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d))
        return layers, params, bn

    return count


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_layer_by_layer_against_keras_written_torch(torch_counts, name: str) -> None:
    layers, params, bn = torch_counts(name)
    a = analyze(load_spec(name))
    weighted = [row.mult_adds for row in a.rows if row.params]
    assert weighted == layers
    assert (a.totals.mult_adds, a.totals.params, a.totals.bn_params) == (sum(layers), params, bn)
