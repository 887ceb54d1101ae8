"""`mobcost explain`: the difference between two conventions' totals, by cause, summing exactly to it.

The property — causes sum to the difference — is checked on every bundled spec and on random small specs
(hypothesis). The amounts of single causes are checked against independent arithmetic: the closed form's
Mult-Adds and BatchNorm parameters, and sums over the layers' shapes.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mobcost import analyze, build, load_spec, parse_spec
from mobcost.analysis.explain import EXPLAIN_CAUSES, Counting, explain, explain_all
from mobcost.cli import app
from mobcost.errors import OptionError, ShapeError
from mobcost.layers import ACTIVATIONS
from mobcost.layers.conventions import CONVENTIONS

from .selection import every_bundled_spec

NAMES = list(CONVENTIONS)


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.stderr + result.stdout
    return result.stdout


def exact(e) -> None:
    """Every cause listed once, in order, and the amounts summing to the difference."""
    assert [c for c, _ in e.causes] == list(EXPLAIN_CAUSES)
    assert all(isinstance(n, int) for _, n in e.causes)
    assert sum(n for _, n in e.causes) == e.difference == e.target_total - e.source_total


@pytest.mark.parametrize("name", every_bundled_spec())
def test_causes_sum_to_the_difference_on_every_bundled_spec(name: str) -> None:
    spec = load_spec(name)
    for e in explain_all(spec):  # the paper against every other convention
        exact(e)
    for source in NAMES:  # every ordered pair, and the structural causes, at α = 0.5
        for target in NAMES:
            exact(explain(spec, source, f"{target},classes=10,no-first-layer", alpha=0.5))


LAYER = st.one_of(
    st.fixed_dictionaries({"type": st.just("conv"), "out": st.integers(1, 12), "kernel": st.sampled_from([1, 3]),
                           "stride": st.integers(1, 2), "bias": st.booleans(), "bn": st.booleans(),
                           "act": st.sampled_from(ACTIVATIONS)}),
    st.fixed_dictionaries({"type": st.just("dw"), "bias": st.booleans(), "bn": st.booleans(),
                           "act": st.sampled_from(ACTIVATIONS)}),
    st.fixed_dictionaries({"type": st.just("pw"), "expand": st.integers(1, 3), "act": st.sampled_from(ACTIVATIONS)}),
    st.fixed_dictionaries({"type": st.just("se"), "reduction": st.sampled_from([1, 2, 4]),
                           "gate": st.sampled_from([a for a in ACTIVATIONS if a != "none"])}),
    st.fixed_dictionaries({"type": st.just("maxpool"), "kernel": st.sampled_from([2, 3]), "stride": st.integers(1, 2),
                           "ceil_mode": st.booleans()}),
    st.fixed_dictionaries({"type": st.just("avgpool"), "kernel": st.just(2)}),
    st.fixed_dictionaries({"type": st.just("bn"), "act": st.sampled_from(ACTIVATIONS)}),
    st.fixed_dictionaries({"type": st.just("act"), "act": st.sampled_from([a for a in ACTIVATIONS if a != "none"])}),
    st.fixed_dictionaries({"type": st.just("add"), "from": st.just([-1, -2])}),
    st.fixed_dictionaries({"type": st.just("concat"), "from": st.just([-1, -2])}),
    st.fixed_dictionaries({"type": st.just("dropout")}),
    st.fixed_dictionaries({"type": st.just("conv"), "out": st.integers(1, 8), "padding": st.just("same"),
                           "stride": st.integers(1, 2), "dilation": st.integers(1, 2)}),
    st.fixed_dictionaries({"type": st.just("deconv"), "out": st.integers(1, 8), "kernel": st.integers(1, 3),
                           "stride": st.integers(1, 2), "bias": st.booleans()}),
    st.fixed_dictionaries({"type": st.just("ln"), "act": st.sampled_from(ACTIVATIONS)}),
    st.fixed_dictionaries({"type": st.just("layerscale")}),
    st.fixed_dictionaries({"type": st.just("upsample"), "mode": st.sampled_from(["nearest", "bilinear"])}),
    st.fixed_dictionaries({"type": st.just("avgpool"), "output": st.integers(1, 5)}),
)
SIDE = st.tuples(st.sampled_from(NAMES), st.one_of(st.none(), st.integers(1, 20)), st.booleans())


def side(drawn: tuple[str, int | None, bool]) -> Counting:
    return Counting(*drawn)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers=st.lists(LAYER, min_size=1, max_size=6), size=st.integers(4, 12), source=SIDE, target=SIDE,
       alpha=st.sampled_from([1.0, 0.5]))
def test_causes_sum_to_the_difference_on_random_specs(layers, size, source, target, alpha) -> None:
    body = "\n".join(f"  - {json.dumps(layer)}" for layer in [*layers, {"type": "avgpool"}, {"type": "fc", "out": 7}])
    spec = parse_spec(f"input: {{channels: 3, size: {size}}}\nlayers:\n{body}\n")
    try:
        e = explain(spec, side(source), side(target), alpha=alpha)
    except ShapeError:  # a map shrunk to nothing, an add of unequal shapes: not a network
        return
    exact(e)


# --- single causes against independent arithmetic --------------------------------------------------------------


def amounts(e) -> dict[str, int]:
    return {c: n for c, n in e.causes if n}


@pytest.mark.parametrize("name", ["mobilenet_v1", "mobilenet_v2", "mobilenet_v3_small", "resnet18"])
def test_single_causes(name: str) -> None:
    spec = load_spec(name)
    a = analyze(spec)
    g = build(spec)
    bn_elements = sum(n.output.numel for n in g.nodes if n.layer.bn)
    biases = sum(n.out_channels for n in g.nodes if n.type == "fc" and n.layer.bias)
    # the factor of two is the Mult-Adds
    assert amounts(explain(spec, "paper", "flops")) == {"factor_of_two": a.totals.mult_adds}
    # torchinfo counts BatchNorm's γ and β once each: the bn_params of the closed form
    assert amounts(explain(spec, "paper", "torchinfo"))["batchnorm"] == a.totals.bn_params
    # fvcore: 2 per BatchNorm element; ptflops-aten: one addition per bias
    assert amounts(explain(spec, "paper", "fvcore"))["batchnorm"] == 2 * bn_elements
    assert amounts(explain(spec, "paper", "ptflops-aten")).get("biases", 0) >= biases
    # going back is the exact opposite
    there, back = explain(spec, "paper", "thop"), explain(spec, "thop", "paper")
    assert [(c, -n) for c, n in there.causes] == list(back.causes)


def test_structural_causes_mobilenet_v1() -> None:
    spec = load_spec("mobilenet_v1")
    e = explain(spec, "paper", "paper,classes=1001,no-first-layer")
    # one more class: 1024 more multiply-adds; the first layer 3×3×3×32 on 112×112 left out
    assert amounts(e) == {"classifier_width": 1024, "first_layer": -3 * 3 * 3 * 32 * 112 * 112}
    e = explain(spec, "paper", "seed")
    outputs = sum(n.output.numel for n in build(spec).nodes if n.type in ("conv", "dw", "pw"))
    assert amounts(e) == {"factor_of_two": 568_740_352, "minus_one": -(outputs + 1000)}
    assert e.share(568_740_352) == pytest.approx(100 * 568_740_352 / e.difference)


def test_products_deit_tiny() -> None:
    # 1,253,683,200 − 178,831,872 = 1,074,851,328: Q·Kᵀ and A·V, 12 blocks × 2·197²·192, are the one cause
    e = explain(load_spec("deit_tiny"), "paper", "no-products")
    assert amounts(e) == {"products": -178_831_872} and e.difference == -178_831_872
    exact(e)
    assert "products of two activations" in invoke("explain", "deit_tiny", "--from", "paper", "--to", "no-products")


def test_equal_counts_have_no_share() -> None:
    e = explain(load_spec("mobilenet_v1"), "flops", "flop-counter")
    assert e.difference == 0 and e.share(0) is None and not amounts(e)


def test_counting_grammar() -> None:
    assert Counting.parse("thop,classes=1001,no-first-layer") == Counting("thop", 1001, False)
    assert Counting.parse(" seed , no-first-layer").label == "seed,no-first-layer"
    for bad in ("gflops", "thop,classes=x", "thop,classes=0", "thop,first-layer"):
        with pytest.raises(OptionError):
            Counting.parse(bad)


# --- the command ------------------------------------------------------------------------------------------------


def test_explain_json() -> None:
    doc = json.loads(invoke("explain", "mobilenet_v2", "--to", "fvcore", "--to", "onnx-tool", "--format", "json"))
    assert list(doc) == ["network", "alpha", "rho", "resolution", "from", "from_unit", "comparisons"]
    assert doc["from"] == "paper" and [c["to"] for c in doc["comparisons"]] == ["fvcore", "onnx-tool"]
    for c in doc["comparisons"]:
        assert c["from_total"] == 300_774_272
        assert sum(x["amount"] for x in c["causes"]) == c["difference"] == c["to_total"] - c["from_total"]
        assert sum(x["share"] for x in c["causes"] if x["amount"]) == pytest.approx(100.0, abs=1e-3)  # 4 decimals each
        assert "onnx_tool" in c["source"] or "fvcore" in c["source"]
    default = json.loads(invoke("explain", "--format", "json"))
    assert [c["to"] for c in default["comparisons"]] == [n for n in NAMES if n != "paper"]


def test_explain_views() -> None:
    rich = invoke("explain", "mobilenet_v1", "--to", "thop")
    assert "paper → thop: 568,740,352 → 588,962,304" in rich and "+20,170,752" in rich and "BatchNorm" in rich
    csv = invoke("explain", "--to", "seed", "--format", "csv").splitlines()
    assert csv[0] == ("network,alpha,rho,resolution,from,to,cause,amount,share,difference,from_total,to_total")
    assert len(csv) == 1 + len(EXPLAIN_CAUSES)
    markdown = invoke("explain", "--to", "seed", "--format", "markdown")
    assert "The −1 terms" in markdown and "-5,043,688" in markdown
    assert "Factor of two" in invoke("explain", "--to", "flops", "--format", "latex")
    assert "nothing to explain" in invoke("explain", "--from", "flops", "--to", "flop-counter")


def test_explain_errors_are_one_line() -> None:
    for args in (["explain", "--to", "gflops"], ["explain", "--from", "thop,classes=-1"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2 and result.stderr.startswith("mobcost: error: ")
        assert len(result.stderr.strip().splitlines()) == 1


def test_rules_table() -> None:
    doc = json.loads(invoke("explain", "--rules", "--format", "json"))
    assert [c["name"] for c in doc["conventions"]] == NAMES
    assert doc["conventions"][NAMES.index("seed")]["rules"]["conv"] == {"macs": 2, "out": -1}
    csv = invoke("explain", "--rules", "--format", "csv").splitlines()
    assert csv[0] == "operation," + ",".join(NAMES)
    assert "bn,0,0,0,0,2·out,0,2·in,0,4·in,2·C,31·out" in csv
    assert "matmul,MA,2·MA,2·MA − out,0,MA,2·MA,0,MA,0,0,MA" in csv
    assert "31·out" in invoke("explain", "--rules")
