"""Trust in the ONNX importer on hostile and malformed files (issue 20): every figure it writes is right, or it
says why not in one located line (``file: node 'name' (OpType): …``, exit 2) — never a silent zero, a
traceback, a hang or GiBs of memory. The models are written here with ``onnx.helper``; expected figures are
worked out by hand from the closed forms, in the comments beside them."""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path

import pytest
from typer.testing import CliRunner

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

from mobcost import analyze, parse_spec  # noqa: E402
from mobcost.cli import app  # noqa: E402
from mobcost.importers import ModelImportError, onnx_to_spec  # noqa: E402
from mobcost.importers.emit import layer_names  # noqa: E402
from mobcost.importers.model import Emitted  # noqa: E402

F, I64 = TensorProto.FLOAT, TensorProto.INT64


def tensor(name: str, dims: list[int], kind: int = F, values: list | None = None) -> onnx.TensorProto:
    n = 1
    for d in dims:
        n *= d
    return helper.make_tensor(name, kind, dims, values if values is not None else [0] * n)


def model(nodes: list, inits: list = (), shape: list[int] | None = (1, 3, 8, 8), outputs: list[str] | None = None,
          value_info: list = (), producer: str = "tests", opset: int = 17) -> onnx.ModelProto:
    """A one-input graph: ``x`` of ``shape`` (None: declared without a shape), the last node's output out."""
    x = helper.make_tensor_value_info("x", F, list(shape) if shape is not None else None)
    outs = [helper.make_tensor_value_info(t, F, None) for t in (outputs or [nodes[-1].output[0]])]
    graph = helper.make_graph(nodes, "net", [x], outs, list(inits), value_info=list(value_info))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name=producer)


def conv(x: str, w: str, y: str, name: str, k: int = 3, **attrs) -> onnx.NodeProto:
    attrs.setdefault("pads", [k // 2] * 4)
    return helper.make_node("Conv", [x, w], [y], name=name, kernel_shape=[k, k], **attrs)


def totals(text: str) -> tuple[int, int]:
    t = analyze(parse_spec(text)).totals
    return t.mult_adds, t.params


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError("traceback") from result.exception
    return result.exit_code, result.stdout, result.stderr


def save(tmp_path: Path, m: onnx.ModelProto, name: str = "bad.onnx") -> Path:
    path = tmp_path / name
    path.write_bytes(m.SerializeToString())
    return path


def assert_located(tmp_path: Path, m: onnx.ModelProto, *needles: str) -> str:
    """``mobcost table`` on the model: exit 2, one line on stderr naming the file (and the needles), no
    traceback, within a second or two."""
    path = save(tmp_path, m)
    started = time.perf_counter()
    code, _, err = cli("table", str(path))
    assert time.perf_counter() - started < 5
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith("mobcost: error: ") and f"{path.name}: " in err, err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


# --- h: malformed files ---------------------------------------------------------------------------------------

def _conv_net(**attrs) -> onnx.ModelProto:
    return model([conv("x", "w", "y", "c1", **attrs)], [tensor("w", [4, 3, 3, 3])])


def _raw(name: str, kind: int, dims: list[int], raw: bytes, **fields) -> onnx.TensorProto:
    t = onnx.TensorProto(name=name, data_type=kind, dims=dims, raw_data=raw)
    for key, value in fields.items():
        setattr(t, key, value)
    return t


def _clip(bound: onnx.TensorProto) -> onnx.ModelProto:
    """conv → Clip whose max is a small initializer (small ones are read for their values)."""
    return model([conv("x", "w", "y", "c1"), helper.make_node("Clip", ["y", "", bound.name], ["z"], name="clip")],
                 [tensor("w", [4, 3, 3, 3]), bound])


def _dead(op: str, inputs: list[onnx.TensorProto], **attrs) -> onnx.ModelProto:
    """A constant node nobody reads beside a valid conv: its value still has to be computed (or refused)."""
    node = helper.make_node(op, [t.name for t in inputs], ["dead"], name="dead", **attrs)
    return model([node, conv("x", "w", "y", "c1")], [tensor("w", [4, 3, 3, 3]), *inputs], outputs=["y"])


def _external_without_location() -> onnx.ModelProto:
    t = tensor("hi", [1])
    t.data_location = TensorProto.EXTERNAL
    del t.float_data[:]
    return _clip(t)


def _string_attr(op: str, attr: str, value: object) -> onnx.ModelProto:
    node = helper.make_node(op, ["y"], ["z"], name="bad", **{attr: value})
    return model([conv("x", "w", "y", "c1"), node], [tensor("w", [4, 3, 3, 3])])


def _split_to_sequence() -> onnx.ModelProto:
    nodes = [conv("x", "w", "y", "c1"),
             helper.make_node("SplitToSequence", ["y", "size"], ["seq"], name="split", axis=1),
             helper.make_node("SequenceAt", ["seq", "at"], ["z"], name="at")]
    return model(nodes, [tensor("w", [4, 3, 3, 3]), tensor("size", [], I64, [0]), tensor("at", [], I64, [0])])


def _pad_by(value: float) -> onnx.ModelProto:
    nodes = [helper.make_node("Pad", ["x", "pads"], ["p"], name="pad"), conv("p", "w", "y", "c1", pads=[0] * 4)]
    return model(nodes, [tensor("w", [4, 3, 3, 3]), tensor("pads", [8], F, [0, 0, value, value, 0, 0, value, value])])


MALFORMED = [
    ("input-without-shape", lambda: model([conv("x", "w", "y", "c1")], [tensor("w", [4, 3, 3, 3])], shape=None),
     "input"),
    ("short-raw-data", lambda: _clip(_raw("hi", F, [4], b"\0\0")), "'hi'"),
    ("data-type-0", lambda: _clip(_raw("hi", 0, [1], b"\0\0\0\0")), "'hi'"),
    ("bad-utf8", lambda: _clip(onnx.TensorProto(name="hi", data_type=TensorProto.STRING, dims=[1],
                                                string_data=[b"\xff\xfe"])), "'hi'"),
    ("external-without-location", _external_without_location, "'hi'"),
    ("strides-too-short", lambda: _conv_net(strides=[1]), "c1"),
    ("pads-wrong-length", lambda: _conv_net(pads=[1, 1, 1]), "c1"),
    ("kernel-as-string", lambda: model([helper.make_node("Conv", ["x", "w"], ["y"], name="c1", kernel_shape="3")],
                                       [tensor("w", [4, 3, 3, 3])]), "c1"),
    ("group-as-float", lambda: _conv_net(group=1.5), "c1"),
    ("perm-as-floats", lambda: _string_attr("Transpose", "perm", [0.0, 2.0, 3.0, 1.0]), "bad"),
    ("split-to-sequence-0", _split_to_sequence, "split"),
    ("pad-by-inf", lambda: _pad_by(float("inf")), "pad"),
    ("pad-by-minus-inf", lambda: _pad_by(float("-inf")), "pad"),
    ("divide-by-zero", lambda: _dead("Div", [tensor("a", [1], I64, [1]), tensor("b", [1], I64, [0])]), "dead"),
    ("sqrt-of-minus-1", lambda: _dead("Sqrt", [tensor("a", [1], F, [-1.0])]), "dead"),
    ("int-of-nan", lambda: _dead("Cast", [tensor("a", [1], F, [float("nan")])], to=I64), "dead"),
    ("gather-out-of-range", lambda: _dead("Gather", [tensor("a", [2], I64, [1, 2]), tensor("i", [1], I64, [5])]),
     "dead"),
    ("slice-step-0", lambda: _dead("Slice", [tensor("a", [3], I64, [1, 2, 3]), tensor("s", [1], I64, [0]),
                                             tensor("e", [1], I64, [3]), tensor("ax", [1], I64, [0]),
                                             tensor("st", [1], I64, [0])]), "dead"),
]


@pytest.mark.parametrize(("make", "needle"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_file_is_one_located_line(tmp_path: Path, make, needle: str) -> None:
    assert_located(tmp_path, make(), needle)


# --- f: folding exact integers is bounded -----------------------------------------------------------------

def test_pow_past_int64_is_refused_at_once(tmp_path: Path) -> None:
    # 10 ** 10⁹ has 3.3·10⁹ bits: computing it would take hours; it is refused before it starts
    m = _dead("Pow", [tensor("a", [1], I64, [10]), tensor("b", [1], I64, [10**9])])
    assert_located(tmp_path, m, "node 'dead' (Pow)", "int64")


def test_mul_chain_is_refused_before_it_eats_the_memory(tmp_path: Path) -> None:
    # x = 3, then x = x·x forty times: 3 ** 2⁴⁰ has 1.7·10¹² bits unbounded; past int64 at the 6th square
    # (3 ** 64 ≈ 3.4·10³⁰)
    nodes = [helper.make_node("Mul", [f"t{i}", f"t{i}"], [f"t{i + 1}"], name=f"sq{i}") for i in range(40)]
    nodes.append(conv("x", "w", "y", "c1"))
    m = model(nodes, [tensor("w", [4, 3, 3, 3]), tensor("t0", [1], I64, [3])], outputs=["y"])
    assert_located(tmp_path, m, "node 'sq5' (Mul)", "int64")


# --- g: long and repeated names ---------------------------------------------------------------------------

def test_a_long_dotted_node_name_costs_no_more_than_its_length() -> None:
    # a module path of 20,000 segments (40 KB): keeping every prefix would hold 20,000 strings of 20 KB on
    # average, 400 MB; the sorted-path lookup holds the name a few times over
    path = ".".join(["a"] * 20_000)
    m = model([conv("x", "w", "y", f"/{path}/Conv")], [tensor("w", [4, 3, 3, 3])])
    tracemalloc.start()
    try:
        result = onnx_to_spec(m)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, peak
    assert totals(result.yaml) == (4 * 3 * 9 * 64, 4 * 3 * 9)  # 4→… 3×3 on 8×8: 4·3·9·64 = 6,912 Mult-Adds


def test_names_that_clean_to_one_name_are_numbered_in_linear_time() -> None:
    # 20,000 layers whose node names are only punctuation (i in base 10 written with !@#$%^&*()): all clean
    # to `maxpool`, numbered maxpool, maxpool_2, …; the old search tried 1 + 2 + … + 20,000 ≈ 2·10⁸ names
    layers = [Emitted("maxpool", {}, ("x",), f"p{i}", (f"n{i}",), "", "".join("!@#$%^&*()"[int(d)] for d in str(i)))
              for i in range(20_000)]
    started = time.perf_counter()
    names = layer_names(layers, frozenset({""}))
    assert time.perf_counter() - started < 1
    assert names[:3] == ["maxpool", "maxpool_2", "maxpool_3"] and names[-1] == "maxpool_20000"


def test_repeated_names_end_to_end() -> None:
    # the same through the importer, on 1,000 pools: one layer each, names unique
    nodes, last = [], "x"
    for i in range(1_000):
        name = "".join("!@#$%^&*()"[int(d)] for d in str(i))
        nodes.append(helper.make_node("MaxPool", [last], [f"p{i}"], name=name, kernel_shape=[1, 1]))
        last = f"p{i}"
    names = [layer.name for layer in parse_spec(onnx_to_spec(model(nodes)).yaml).layers]
    assert len(set(names)) == 1_000 and names[-1] == "maxpool_1000"


# --- i: an output never replaces its own input -------------------------------------------------------------

def test_import_refuses_to_write_over_its_own_model(tmp_path: Path) -> None:
    path = save(tmp_path, model([conv("x", "w", "y", "c1")], [tensor("w", [4, 3, 3, 3])]), "m.onnx")
    before = path.read_bytes()
    (tmp_path / "link.onnx").symlink_to(path)
    for source, target in ((path, path), (tmp_path / "link.onnx", path), (path, tmp_path / "sub" / ".." / "m.onnx")):
        (tmp_path / "sub").mkdir(exist_ok=True)
        code, _, err = cli("import", str(source), "-o", str(target))
        assert code == 2 and "is an input of this command" in err and len(err.splitlines()) == 1, err
        assert path.read_bytes() == before
    assert cli("import", str(path), "-o", str(tmp_path / "m.yaml"))[0] == 0  # another file: written


@pytest.mark.parametrize("fmt", ["rich", "csv", "json"])
def test_table_refuses_to_write_over_its_own_spec(tmp_path: Path, fmt: str) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("input: {channels: 3, size: 8}\nlayers: [{type: conv, out: 4}]\n", encoding="utf-8")
    before = spec.read_text(encoding="utf-8")
    code, _, err = cli("table", str(spec), "-f", fmt, "-o", str(spec))
    assert code == 2 and "is an input of this command" in err, err
    assert spec.read_text(encoding="utf-8") == before


# --- e: weights that do not fit their input ---------------------------------------------------------------

def _gemm(features: int, trans_b: int) -> onnx.ModelProto:
    # 3×8×8 flattened is 192 features; the weight is made for 20
    dims = [10, features] if trans_b else [features, 10]
    nodes = [helper.make_node("Flatten", ["x"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "w"], ["y"], name="fc", transB=trans_b)]
    return model(nodes, [tensor("w", dims)])


MISFIT = [
    ("conv-4x5x3x3-on-3", lambda: model([conv("x", "w", "y", "c1")], [tensor("w", [4, 5, 3, 3])]), "c1 (Conv)",
     "takes 5 input", 3),
    ("grouped-conv", lambda: model([conv("x", "w", "y", "c1", group=3)], [tensor("w", [6, 2, 3, 3])]), "c1 (Conv)",
     "takes 6 input", 3),
    ("gemm-20-on-192", lambda: _gemm(20, 1), "fc (Gemm)", "takes 20 input", 192),
    ("gemm-20-on-192-untransposed", lambda: _gemm(20, 0), "fc (Gemm)", "takes 20 input", 192),
    ("matmul-20-on-192", lambda: model([helper.make_node("Flatten", ["x"], ["f"], name="flat"),
                                        helper.make_node("MatMul", ["f", "w"], ["y"], name="mm")],
                                       [tensor("w", [20, 10])]), "mm (MatMul)", "takes 20 input", 192),
    ("deconv-on-3", lambda: model([helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="up", kernel_shape=[2, 2],
                                                    strides=[2, 2])], [tensor("w", [5, 4, 2, 2])]),
     "up (ConvTranspose)", "takes 5 input", 3),
]


@pytest.mark.parametrize(("make", "node", "takes", "has"), [c[1:] for c in MISFIT], ids=[c[0] for c in MISFIT])
def test_a_weight_made_for_another_input_is_a_located_error(tmp_path: Path, make, node: str, takes: str,
                                                             has: int) -> None:
    node = node.replace(" (", "' (")
    assert_located(tmp_path, make(), f"node '{node}", takes, f"the input has {has}")
    with pytest.raises(ModelImportError):  # --allow-unknown does not make a broken file countable
        onnx_to_spec(make(), allow_unknown=True)


def test_a_weight_that_fits_still_imports() -> None:
    # 3 → 6 in 3 groups (weight 6×1×3×3) on 8×8: 6·1·9·64 = 3,456 Mult-Adds, 6·1·9 = 54 params
    m = model([conv("x", "w", "y", "c1", group=3)], [tensor("w", [6, 1, 3, 3])])
    assert totals(onnx_to_spec(m).yaml) == (3456, 54)
    # Gemm 192 → 10 (transB): 1,920 Mult-Adds, 1,920 params (no bias)
    assert totals(onnx_to_spec(_gemm(192, 1)).yaml) == (1920, 1920)


# --- b: nothing from the file reaches the YAML unquoted ---------------------------------------------------

BREAKS = ["\n", "\r", "\r\n", "\x85", "\u2028", "\u2029", "\x0b", "\x0c", "\x00", "\x1b", '"', "\\", "'", "#"]


def _softmaxed(text: str, allow_unknown: bool) -> onnx.ModelProto:
    """conv 3→4 3×3, then a Softmax (named in the notes) and a Softsign (left out and listed with
    allow_unknown), a Resize whose mode is ``text`` (left out too), every name and the producer ``text``."""
    nodes = [conv("x", "w", "y", f"c1{text}"), helper.make_node("Softmax", ["y"], ["s"], name=f"sm{text}", axis=1)]
    if allow_unknown:
        nodes += [helper.make_node("Softsign", ["s"], ["t"], name=f"odd{text}"),
                  helper.make_node("Resize", ["t", "", "scales"], ["z"], name=f"up{text}", mode=f"cubic{text}")]
    return model(nodes, [tensor("w", [4, 3, 3, 3]), tensor("scales", [4], F, [1, 1, 1, 1])], producer=text)


@pytest.mark.parametrize("allow_unknown", [False, True])
@pytest.mark.parametrize("brk", BREAKS, ids=[f"U+{ord(b[0]):04X}" for b in BREAKS])
def test_names_from_the_file_cannot_write_yaml(tmp_path: Path, brk: str, allow_unknown: bool) -> None:
    clean = parse_spec(onnx_to_spec(_softmaxed("x", allow_unknown), allow_unknown=allow_unknown).yaml)
    hostile = f"x{brk}defaults: {{kernel: 7}}{brk}layers: []{brk}#"
    result = onnx_to_spec(_softmaxed(hostile, allow_unknown), allow_unknown=allow_unknown)
    spec = parse_spec(result.yaml)
    assert [vars(a) | {"name": ""} for a in spec.layers] == [vars(a) | {"name": ""} for a in clean.layers]
    assert (spec.channels, spec.size, spec.divisor) == (clean.channels, clean.size, clean.divisor)
    assert totals(result.yaml) == (4 * 3 * 9 * 64, 4 * 3 * 9)  # the 3×3 conv stays 3×3: 6,912 Mult-Adds
    assert spec.source.startswith("<model> (") and "defaults: {kernel: 7}" in spec.source  # kept, as text
    assert len(result.yaml.splitlines()) == len(onnx_to_spec(_softmaxed("x", allow_unknown),
                                                             allow_unknown=allow_unknown).yaml.splitlines())


def test_a_file_name_cannot_write_yaml(tmp_path: Path) -> None:
    m = model([conv("x", "w", "y", "c1")], [tensor("w", [4, 3, 3, 3])])
    path = save(tmp_path, m, "m\u2028defaults: {kernel: 7}\n#\u0085.onnx")
    spec = parse_spec(onnx_to_spec(path).yaml)
    assert [layer.kernel for layer in spec.layers] == [3]
    assert "\u2028defaults: {kernel: 7}\n#\u0085.onnx" in spec.description


# --- c: declared shapes are checked, never trusted ---------------------------------------------------------

def _upsampled(declared: list[int] | None, out: list[int] | None = None) -> onnx.ModelProto:
    """Resize ×2 (scales 1, 1, 2, 2) of 4×8×8, then a 4→8 conv 3×3; the Resize's output declared as
    ``declared``, the graph output as ``out``."""
    nodes = [conv("x", "w0", "a", "c0"),
             helper.make_node("Resize", ["a", "", "scales"], ["r"], name="up", mode="nearest"),
             conv("r", "w1", "y", "c1")]
    inits = [tensor("w0", [4, 3, 3, 3]), tensor("scales", [4], F, [1, 1, 2, 2]), tensor("w1", [8, 4, 3, 3])]
    info = [helper.make_tensor_value_info("r", F, declared)] if declared else []
    m = model(nodes, inits, value_info=info)
    if out is not None:
        m.graph.output[0].CopyFrom(helper.make_tensor_value_info("y", F, out))
    return m


def test_a_declared_shape_the_operator_does_not_give_is_a_located_error(tmp_path: Path) -> None:
    # declared 32×32 after a ×2 Resize of 8×8 (16×16): the next conv would count 4× its Mult-Adds
    assert_located(tmp_path, _upsampled([1, 4, 32, 32]), "node 'up' (Resize)", "declares 1×4×32×32",
                   "gives 1×4×16×16")
    assert_located(tmp_path, _upsampled(None, [1, 8, 99, 99]), "node 'c1' (Conv)", "declares 1×8×99×99")


def test_shapes_come_from_the_operators() -> None:
    # 3→4 conv 3×3 on 8×8: 4·3·9·64 = 6,912; ×2 to 16×16; 4→8 conv 3×3 on 16×16: 8·4·9·256 = 73,728
    expected = (6_912 + 73_728, 4 * 3 * 9 + 8 * 4 * 9)
    assert totals(onnx_to_spec(_upsampled([1, 4, 16, 16], [1, 8, 16, 16])).yaml) == expected
    assert totals(onnx_to_spec(_upsampled(None)).yaml) == expected


# --- a: control flow is counted or refused, never folded away -----------------------------------------------

B = TensorProto.BOOL


def _branch(name: str, cout: int, k: int) -> onnx.GraphProto:
    """A branch convolving the stem's output ``y`` (read from the enclosing graph, not passed in)."""
    return helper.make_graph([conv("y", f"{name}_w", f"{name}_out", f"{name}_conv", k)], name, [],
                             [helper.make_tensor_value_info(f"{name}_out", F, None)],
                             [tensor(f"{name}_w", [cout, 4, k, k])])


def _if(cond_nodes: list, inits: list) -> onnx.ModelProto:
    """stem conv 3→4 3×3 on 8×8, then If(cond): then a 4→512 conv 3×3, else a 4→8 conv 1×1."""
    node = helper.make_node("If", ["cond"], ["branched"], name="branch", then_branch=_branch("then", 512, 3),
                            else_branch=_branch("else", 8, 1))
    return model([conv("x", "w", "y", "stem"), *cond_nodes, node], [tensor("w", [4, 3, 3, 3]), *inits])


STEM = (4 * 3 * 9 * 64, 4 * 3 * 9)  # 3→4 conv 3×3 on 8×8: 6,912 Mult-Adds, 108 params


@pytest.mark.parametrize(("cond", "expected"), [
    # then: 4→512 conv 3×3 on 4×8×8: 512·4·9·64 = 1,179,648 (+ 6,912 = 1,186,560); params 512·4·9 = 18,432
    ("initializer-true", (STEM[0] + 1_179_648, STEM[1] + 18_432)),
    # else: 4→8 conv 1×1 on 8×8: 8·4·64 = 2,048 Mult-Adds, 32 params
    ("constant-node-false", (STEM[0] + 2_048, STEM[1] + 32)),
    ("cast-of-an-integer", (STEM[0] + 1_179_648, STEM[1] + 18_432)),
])
def test_an_if_on_a_constant_counts_the_branch_it_takes(cond: str, expected: tuple[int, int]) -> None:
    if cond == "initializer-true":
        m = _if([], [tensor("cond", [], B, [True])])
    elif cond == "constant-node-false":
        m = _if([helper.make_node("Constant", [], ["cond"], name="k", value=tensor("v", [], B, [False]))], [])
    else:
        m = _if([helper.make_node("Cast", ["one"], ["cond"], name="cast", to=B)], [tensor("one", [], I64, [1])])
    text = onnx_to_spec(m).yaml
    assert totals(text) == expected
    assert len(parse_spec(text).layers) == 2


def test_an_if_on_the_data_is_a_located_error_or_a_listed_omission(tmp_path: Path) -> None:
    # the condition: whether the global max of a 4→1 1×1 conv of the stem is non-zero
    cond = [conv("y", "wc", "c", "score", 1), helper.make_node("GlobalMaxPool", ["c"], ["m"], name="peak"),
            helper.make_node("Cast", ["m"], ["cond"], name="cast", to=B)]
    inits = [tensor("wc", [1, 4, 1, 1])]
    assert_located(tmp_path, _if(cond, inits), "node 'branch'", "If", "constant")
    result = onnx_to_spec(_if(cond, inits), allow_unknown=True)
    assert "branch" in [u.node for u in result.unmapped] and "branch" in result.yaml


def _loop() -> onnx.ModelProto:
    """stem, then Loop ×3 (a constant trip count) whose body adds a 4→512 conv 3×3 of ``y`` (read from the
    enclosing graph) to a zero-initialised 512×8×8 accumulator: every input the Loop node lists is constant."""
    body = helper.make_graph(
        [conv("y", "bw", "z", "body_conv"), helper.make_node("Add", ["acc", "z"], ["acc_out"], name="body_add"),
         helper.make_node("Identity", ["c"], ["c_out"], name="body_cond")], "body",
        [helper.make_tensor_value_info("i", I64, []), helper.make_tensor_value_info("c", B, []),
         helper.make_tensor_value_info("acc", F, [1, 512, 8, 8])],
        [helper.make_tensor_value_info("c_out", B, []), helper.make_tensor_value_info("acc_out", F, [1, 512, 8, 8])],
        [tensor("bw", [512, 4, 3, 3])])
    node = helper.make_node("Loop", ["trips", "go", "zeros"], ["looped"], name="loop", body=body)
    inits = [tensor("w", [4, 3, 3, 3]), tensor("trips", [], I64, [3]), tensor("go", [], B, [True]),
             tensor("zeros", [1, 512, 8, 8])]
    return model([conv("x", "w", "y", "stem"), node], inits)


def test_a_loop_on_the_data_is_never_folded_away(tmp_path: Path) -> None:
    # folded as a constant, it reported the stem's 6,912 alone; 3 × 1,179,648 more are in the body
    assert_located(tmp_path, _loop(), "node 'loop'", "Loop", "not counted")
    result = onnx_to_spec(_loop(), allow_unknown=True)
    assert [u.node for u in result.unmapped] == ["loop"] and "NOT in this spec" in result.yaml


# --- d: one stored weight is one tensor of params --------------------------------------------------------

def _tied(bias: bool = False) -> onnx.ModelProto:
    """stem conv 3→4 3×3, two 4→4 3×3 convs reading one stored weight ``ws`` (and bias ``bs``), a 4→4 1×1
    head (the classifier, which keeps its width under α)."""
    extra = ["bs"] if bias else []
    nodes = [conv("x", "w", "y", "stem"),
             helper.make_node("Conv", ["y", "ws", *extra], ["a"], name="c1", kernel_shape=[3, 3], pads=[1] * 4),
             helper.make_node("Conv", ["a", "ws", *extra], ["b"], name="c2", kernel_shape=[3, 3], pads=[1] * 4),
             conv("b", "wh", "z", "head", 1)]
    inits = [tensor("w", [4, 3, 3, 3]), tensor("ws", [4, 4, 3, 3]), tensor("wh", [4, 4, 1, 1])]
    return model(nodes, inits + [tensor("bs", [4])] * bias)


def test_a_weight_read_twice_is_counted_once_as_params() -> None:
    # stem 4·3·9·64 = 6,912; each 4→4 3×3 on 8×8: 4·4·9·64 = 9,216, both counted (Mult-Adds count every use);
    # head 4·4·64 = 1,024. Params: 108 + 144 + 16 = 268 stored (412 if the shared 144 were counted twice)
    text = onnx_to_spec(_tied()).yaml
    assert totals(text) == (6_912 + 2 * 9_216 + 1_024, 268)
    assert "shares: c1" in text
    # with a shared bias: + 4, once
    assert totals(onnx_to_spec(_tied(bias=True)).yaml) == (6_912 + 2 * 9_216 + 1_024, 272)


def test_shares_in_the_table_and_the_sweep(tmp_path: Path) -> None:
    from mobcost.explore.grid import sweep

    path = tmp_path / "tied.yaml"
    path.write_text(onnx_to_spec(_tied()).yaml, encoding="utf-8")
    code, out, _ = cli("table", str(path), "-f", "json")
    assert code == 0 and json.loads(out)["totals"]["params"] == 268, out[:300]
    # at α = 0.5: stem 3→2 (54), the shared 2→2 3×3 once (36), head 2→4 (8): 98; the sweep agrees
    spec = parse_spec(path.read_text(encoding="utf-8"))
    swept = sweep(spec, [0.5, 1.0], [8])
    assert sorted(int(p) for p in swept.columns["params"]) == [analyze(spec, 0.5).totals.params, 268] == [98, 268]


@pytest.mark.parametrize(("layers", "message"), [
    ("[{type: conv, out: 4, name: a}, {type: conv, out: 4, shares: b}]", "'b' is not an earlier conv layer"),
    ("[{type: conv, out: 4, shares: b}, {type: conv, out: 4, name: b}]", "'b' is not an earlier conv layer"),
    ("[{type: conv, out: 4, name: a}, {type: pw, out: 4, shares: a}]", "'a' is not an earlier pw layer"),
    ("[{type: conv, out: 4, name: a}, {type: avgpool, shares: a}]", "no weights to share"),
    ("[{type: conv, out: 4, name: a}, {type: conv, out: 8, shares: a}]", "only equal weights"),
])
def test_shares_names_an_earlier_layer_with_equal_weights(layers: str, message: str) -> None:
    from mobcost.errors import MobcostError

    with pytest.raises(MobcostError, match=message):
        analyze(parse_spec(f"input: {{channels: 4, size: 8}}\nlayers: {layers}\n"))


def test_an_if_inside_a_taken_branch_is_resolved_too() -> None:
    # outer If(true) → inner If(false) → else: the 4→8 conv 1×1: 6,912 + 2,048 Mult-Adds, 108 + 32 params
    inner = helper.make_node("If", ["inner_cond"], ["inner_out"], name="inner", then_branch=_branch("then", 512, 3),
                             else_branch=_branch("else", 8, 1))
    outer_then = helper.make_graph([inner], "outer_then", [], [helper.make_tensor_value_info("inner_out", F, None)],
                                   [tensor("inner_cond", [], B, [False])])
    node = helper.make_node("If", ["cond"], ["branched"], name="outer", then_branch=outer_then,
                            else_branch=_branch("other", 16, 1))
    m = model([conv("x", "w", "y", "stem"), node], [tensor("w", [4, 3, 3, 3]), tensor("cond", [], B, [True])])
    assert totals(onnx_to_spec(m).yaml) == (STEM[0] + 2_048, STEM[1] + 32)
