"""The `table` command's views: the per-layer table (the paper's Table 1 columns plus costs), the per-type
view (Table 2), the shrinking steps (Table 3), as rich tables, the JSON document and tidy frames."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ..analysis import Analysis, Group, Row, Step, Totals
from ..ir import Shape
from ..layers import REGISTRY
from ..units import DTYPE_BYTES
from .energy import (
    ENERGY_KEYS,
    energy_basis,
    energy_by_category,
    energy_caption,
    energy_cells,
    energy_dict,
    layer_energy_dict,
)
from .formats import Format, human, records_text, share

if TYPE_CHECKING:
    import pandas as pd

    from ..analysis.conventions import Counted
    from ..explore.energy import NetworkEnergy
    from .terminal import FitTable


class By(StrEnum):
    layer = "layer"
    type = "type"


class Section(StrEnum):
    layers = "layers"
    types = "types"
    shrink = "shrink"


class Dtype(StrEnum):
    fp32 = "fp32"
    fp16 = "fp16"
    int8 = "int8"


def title(a: Analysis) -> str:
    g = a.graph
    return f"{a.network} · α={g.alpha:g} · {g.input.h}×{g.input.w} input (ρ={g.rho:.3g})"


def norm_label(a: Analysis) -> str:
    """What ``bn_params`` holds, named for the reader: "BN", "LN", "GN" or several ("BN/LN": a transformer's are
    LayerNorm's, PoolFormer's GroupNorm's)."""
    names = {"LayerNorm": "LN", "GroupNorm": "GN"}
    kinds = {names.get(r.category, "BN") for r in a.rows if r.bn_params}
    return "/".join(sorted(kinds)) or "BN"


def totals_caption(t: Totals, dtype: Dtype | None, bn_included: bool = False, norm: str = "BN") -> str:
    """The totals line; the normalisation γ, β are either inside the params (``--bn-in-params``) or beside them."""
    bn = f"including {t.bn_params:,} {norm}" if bn_included else f"+{t.bn_params:,} {norm}"
    text = (f"Totals: {t.mult_adds:,} Mult-Adds · {t.params:,} params ({bn}) · "
            f"{t.memory_access:,} elements of memory access")
    if dtype:
        b = DTYPE_BYTES[dtype]
        text += f" · {dtype}: {human(t.params * b, 'B')} of weights, {human(t.memory_access * b, 'B')} moved"
    return text


# --- rich ---------------------------------------------------------------------------------------


def layer_table(a: Analysis, dtype: Dtype | None = None, counted: Counted | None = None,
                energy: NetworkEnergy | None = None) -> FitTable:
    """Table 1's columns (Type / Stride, Filter Shape, Input Size) plus the costs and their shares. Narrow
    terminals lose the shares first, then Type / Stride; names fold, numbers and shapes never split. With
    ``counted`` (a convention other than the paper's), its figure follows the Mult-Adds; with ``energy``
    (``--hardware``), each layer's energy comes last."""
    mem = f"Memory ({dtype})" if dtype else "Memory"
    counted = _shown(counted)
    table = _table(title(a), a, dtype, counted, energy)
    table.add_column("Name", whole=False)
    table.add_column("Type / Stride", whole=False, drop=3)
    table.add_column("Filter Shape", drop=2)
    table.add_column("Input Size", drop=1)
    for header, drop in (("Mult-Adds", 0), ("% MA", 4), ("Params", 0), ("% P", 5), (mem, 0)):
        table.add_column(header, justify="right", drop=drop)
    if counted:
        table.add_column(counted.convention.name.replace("-", " "), justify="right")
    if energy:
        table.add_column("Energy", justify="right")  # asked for with -H: the shares leave first
    for i, row in enumerate(a.rows):
        node = row.node
        extra = [human(counted.layers[i].count)] if counted else []
        table.add_row(row.name, type_label(row), row.filter_shape, _input_sizes(node.inputs),
                      *_cost_cells(row, a.totals, dtype), *extra,
                      *energy_cells(energy, energy.layers[i].pj if energy else None))
    table.add_section()
    extra = [human(counted.total, "", 4)] if counted else []
    table.add_row("Total", "", "", "", *_cost_cells(a.totals, a.totals, dtype, digits=4), *extra,
                  *energy_cells(energy, energy.pj if energy else None), style="bold")
    return table


def _shown(counted: Counted | None) -> Counted | None:
    """The convention's figures for the rich views: none for the paper's, which is the Mult-Adds column."""
    return None if counted is None or counted.convention.name == "paper" else counted


def convention_caption(counted: Counted) -> str:
    c = counted.convention
    return f"Under the {c.name} convention: {counted.total:,} {c.unit} (`mobcost explain` gives the causes)"


def _input_sizes(inputs: tuple[Shape, ...]) -> str:
    """H×W×C, or H×W×(C1+C2+…) for a join of equal-sized maps (N×(C1+C2+…) tokens for sequences)."""
    first = inputs[0]
    if len(inputs) == 1 or len({(x.h, x.w, x.tokens, x.patch, x.window) for x in inputs}) > 1:
        return " + ".join(str(x) for x in inputs)
    text = str(first)
    tokens = text.endswith(" tokens")
    head = text.removesuffix(" tokens").rsplit("×", 1)[0]
    return f"{head}×({'+'.join(str(x.c) for x in inputs)})" + (" tokens" if tokens else "")


def type_table(a: Analysis, dtype: Dtype | None = None, counted: Counted | None = None,
               energy: NetworkEnergy | None = None) -> FitTable:
    """The paper's Table 2: resource per layer type (with a convention's figure per type, given ``counted``, and
    the energy per type, given ``energy``)."""
    mem = f"Memory ({dtype})" if dtype else "Memory"
    counted = _shown(counted)
    table = _table(f"Resource per layer type — {title(a)}", a, dtype, counted, energy)
    table.add_column("Type")  # Table 2's row label
    table.add_column("Layers", justify="right", drop=1)
    for header, drop in (("Mult-Adds", 0), ("% MA", 2), ("Params", 0), ("% P", 3), (mem, 0)):
        table.add_column(header, justify="right", drop=drop)
    per_type = _by_category(a, counted) if counted else {}
    if counted:
        table.add_column(counted.convention.name.replace("-", " "), justify="right")
    if energy:
        table.add_column("Energy", justify="right")
    spent = energy_by_category(a, energy) if energy else {}
    for g in a.by_type():
        extra = [human(per_type[g.category])] if counted else []
        pj = spent[g.category][0] if energy else None
        table.add_row(g.category, str(g.layers), *_cost_cells(g.totals, a.totals, dtype), *extra,
                      *energy_cells(energy, pj))
    table.add_section()
    extra = [human(counted.total, "", 4)] if counted else []
    table.add_row("Total", str(len(a.rows)), *_cost_cells(a.totals, a.totals, dtype, digits=4), *extra,
                  *energy_cells(energy, energy.pj if energy else None), style="bold")
    return table


def shrink_table(example: tuple[Step, ...], network: tuple[Step, ...], name: str) -> FitTable:
    """The paper's Table 3: cumulative effect of each shrinking step, for its example layer and the network."""
    caption = ("Example layer: D_K = 3, M = N = 512, D_F = 14 (α thins M and N; ρ scales D_F). "
               "Convolution row of the network: each dw + pw pair as one full convolution.")
    steps = {n.label: n for n in network}  # rows a spec cannot take are left out (cli.table.shrink_sections)
    conv, separable = steps.get("Convolution"), steps.get("Depthwise Separable Conv")
    if conv and separable and (conv.mult_adds, conv.params) == (separable.mult_adds, separable.params):
        caption += f" {name} has no depthwise + pointwise pair: its first two rows are equal."
    table = _fit_table("Resource use as each shrinking step is added (the paper's Table 3, cumulative)", caption)
    table.add_column("Layer / Modification")
    for header in ("Example M-Adds", "Example Params", f"{name} M-Adds", f"{name} Params"):
        table.add_column(header, justify="right")
    for e, n in zip(example, network, strict=True):
        table.add_row(n.label, _millions(e.mult_adds), _millions(e.params), _millions(n.mult_adds),
                      _millions(n.params))
    return table


def _millions(n: int) -> str:
    """Three significant figures, as the paper prints Table 3 (462, 52.3, 0.27), without exponents."""
    m = n / 1e6
    return f"{m:,.0f} M" if m >= 100 else f"{m:.3g} M"


def step_dicts(steps: tuple[Step, ...]) -> list[dict[str, Any]]:
    return [{"label": s.label, "mult_adds": s.mult_adds, "params": s.params} for s in steps]


def _table(heading: str, a: Analysis, dtype: Dtype | None, counted: Counted | None = None,
           energy: NetworkEnergy | None = None) -> FitTable:
    caption = totals_caption(a.totals, dtype, a.convention.bn_in_params, norm_label(a))
    caption += f"\n{convention_caption(counted)}" if counted else ""
    caption += f"\n{energy_caption(energy)}" if energy else ""
    caption += "".join(f"\n{line}" for line in outputs_lines(a))
    return _fit_table(heading, caption)


def outputs_lines(a: Analysis) -> list[str]:
    """A network with declared outputs: what it returns, and the post-processing steps left uncounted."""
    spec = a.graph.spec
    shapes = {n.name: n.output for n in a.graph.nodes}
    lines = [f"Outputs: {', '.join(f'{name} ({shapes[name]})' for name in spec.outputs)}"] if spec.outputs else []
    if spec.proposals:
        shared, one = per_roi_split(a)
        lines.append(f"Per image: {shared:,} shared + {spec.proposals} proposals × {one:,} per RoI = "
                     f"{a.totals.mult_adds:,} Mult-Adds (rows marked ×{spec.proposals} RoIs run per proposal)")
    if spec.postprocess:
        lines.append(f"Not counted (post-processing, no Mult-Adds): {'; '.join(spec.postprocess)}")
    return lines


def per_roi_split(a: Analysis) -> tuple[int, int]:
    """A two-stage detector's Mult-Adds as (shared part, one proposal's per-RoI part)."""
    shared = sum(r.mult_adds for r in a.rows if r.times == 1)
    return shared, sum(r.mult_adds // r.times for r in a.rows if r.times > 1)


def _fit_table(heading: str, caption: str) -> FitTable:
    """Every table of this view has the same look. rich is imported here, by the rich view only: a JSON, CSV,
    Markdown or LaTeX run never loads its console, which costs as much to import as the whole closed form."""
    from rich import box

    from .terminal import FitTable

    return FitTable({"title": heading, "caption": caption, "box": box.SIMPLE_HEAD, "pad_edge": False,
                     "collapse_padding": True, "title_justify": "left", "caption_justify": "left"})


def type_label(row: Row) -> str:
    # a per-RoI layer's costs are for every proposal: the label says how many, so no row reads as one run's
    label = REGISTRY[row.node.type].type_label(row.node)
    return f"{label} ×{row.times} RoIs" if row.times > 1 else label


def _cost_cells(c: Row | Totals | Group, whole: Totals, dtype: Dtype | None, digits: int = 3) -> list[str]:
    memory = human(c.memory_access * DTYPE_BYTES[dtype], "B", digits) if dtype else human(c.memory_access, "", digits)
    return [human(c.mult_adds, "", digits), f"{share(c.mult_adds, whole.mult_adds):.2f}",
            human(c.params, "", digits), f"{share(c.params, whole.params):.2f}", memory]


# --- JSON ---------------------------------------------------------------------------------------


def analysis_dict(a: Analysis, by: By = By.layer, dtype: Dtype = Dtype.fp32,
                  counted: Counted | None = None, energy: NetworkEnergy | None = None) -> dict[str, Any]:
    """The stable JSON document: exact integers, keys in a fixed order. With ``counted`` (``--convention``):
    ``"convention"`` and ``"convention_unit"`` after ``"dtype"``, and ``"ops"`` — the count under that
    convention — after each layer's (or type's) ``mult_adds`` and after the totals' ``flops``. With ``energy``
    (``--hardware``): :data:`ENERGY_KEYS` last in each layer, type and the totals, then ``"hardware"`` and
    ``"energy_model"`` (its figures and their sources)."""
    g = a.graph
    doc: dict[str, Any] = {"network": a.network, "alpha": g.alpha, "rho": g.rho, "resolution": g.resolution,
                           "dtype": str(dtype)}
    if counted:
        doc.update(convention=counted.convention.name, convention_unit=counted.convention.unit)
    if by == By.type:
        per_type = _by_category(a, counted) if counted else {}
        spent = energy_by_category(a, energy) if energy else {}
        doc["types"] = [{**_with_ops(_group_dict(grp, a.totals), per_type.get(grp.category), counted),
                         **(energy_dict(*spent[grp.category]) if energy else {})} for grp in a.by_type()]
    else:
        doc["layers"] = [{**_with_ops(_row_dict(r), counted.layers[i].count if counted else None, counted),
                          **(layer_energy_dict(energy.layers[i]) if energy else {})} for i, r in enumerate(a.rows)]
    t = a.totals
    b = DTYPE_BYTES[dtype]
    doc["totals"] = {"mult_adds": t.mult_adds, "params": t.params, "memory_access": t.memory_access,
                     "bn_params": t.bn_params, "weight_bytes": t.params * b, "memory_access_bytes": t.memory_access * b,
                     "flops": 2 * t.mult_adds}  # FLOPs as most later papers count them: 2 per multiply-add
    if counted:
        doc["totals"]["ops"] = counted.total
    if energy:
        doc["totals"].update(energy_dict(energy.pj, energy.compute_pj, energy.memory_pj), **energy_basis(energy))
        doc.update(hardware=energy.hardware, energy_model=energy.model.as_dict())
    spec = g.spec  # only a network that declares them has these keys (every other document is unchanged)
    if spec.outputs:
        shapes = {n.name: n.output.as_list() for n in g.nodes}
        doc["outputs"] = [{"name": name, "shape": shapes[name]} for name in spec.outputs]
    if spec.proposals:
        shared, one = per_roi_split(a)
        doc["per_roi"] = {"proposals": spec.proposals, "shared_mult_adds": shared, "per_roi_mult_adds": one}
    if spec.postprocess:
        doc["postprocess"] = {"counted": False, "steps": list(spec.postprocess)}
    return doc


def _with_ops(record: dict[str, Any], ops: int | None, counted: Counted | None) -> dict[str, Any]:
    """``record`` with ``"ops"`` right after ``"mult_adds"`` (unchanged without a convention)."""
    if counted is None:
        return record
    out: dict[str, Any] = {}
    for key, value in record.items():
        out[key] = value
        if key == "mult_adds":
            out["ops"] = ops
    return out


def _row_dict(r: Row) -> dict[str, Any]:
    n = r.node
    return {"name": r.name, "type": n.type, "kernel": n.kernel, "stride": n.stride, "groups": n.groups,
            "input": n.input.as_list(), "output": n.output.as_list(), "mult_adds": r.mult_adds,
            "params": r.params, "memory_access": r.memory_access, "bn_params": r.bn_params,
            "category": r.category, "inputs": [x.as_list() for x in n.inputs],
            **({"per_roi": r.times} if r.times > 1 else {})}


def _group_dict(g: Group, whole: Totals) -> dict[str, Any]:
    t = g.totals
    return {"type": g.category, "layers": g.layers, "mult_adds": t.mult_adds,
            "mult_adds_pct": round(share(t.mult_adds, whole.mult_adds), 4), "params": t.params,
            "params_pct": round(share(t.params, whole.params), 4), "memory_access": t.memory_access,
            "bn_params": t.bn_params}


# --- records: csv, markdown, LaTeX, pandas --------------------------------------------------------


def tidy_records(a: Analysis, by: By = By.layer, dtype: Dtype = Dtype.fp32, counted: Counted | None = None,
                 energy: NetworkEnergy | None = None) -> list[dict[str, Any]]:
    """One record per layer (or type), one key per variable, the design point repeated, no totals row (with a
    convention, its name is part of the design point and its count a column; with ``energy``, the profile's
    name is part of the design point and the energy columns come last)."""
    doc = analysis_dict(a, by, dtype, counted, energy)
    context = {k: doc[k] for k in ("network", "alpha", "rho", "resolution", "convention", "hardware") if k in doc}
    rows = doc["types"] if by == By.type else [_flat_layer(r) for r in doc["layers"]]
    return [{**context, **{k: v for k, v in r.items() if k not in ENERGY_KEYS},
             "memory_access_bytes": r["memory_access"] * DTYPE_BYTES[dtype],
             **{k: r[k] for k in ENERGY_KEYS if k in r}} for r in rows]


def analysis_frame(a: Analysis, by: By = By.layer, dtype: Dtype = Dtype.fp32,
                   counted: Counted | None = None) -> pd.DataFrame:
    """A tidy frame: one row per layer (or type), one column per variable, no totals row. An integer column
    with gaps (``kernel`` of an add or concat layer) is pandas' nullable Int64, never upcast to float (7.0)."""
    import pandas as pd

    records = tidy_records(a, by, dtype, counted)
    frame = pd.DataFrame.from_records(records)
    for column in frame.columns:
        values = [r.get(column) for r in records]
        if any(v is None for v in values) and all(v is None or type(v) is int for v in values):
            frame[column] = pd.array(values, dtype="Int64")
    return frame


def _flat_layer(r: dict[str, Any]) -> dict[str, Any]:
    (ic, ih, iw), (oc, oh, ow) = r["input"], r["output"]
    keep = {k: v for k, v in r.items() if k not in ("input", "output", "inputs")}
    return {**keep, "in_c": ic, "in_h": ih, "in_w": iw, "out_c": oc, "out_h": oh, "out_w": ow}


def latex_records(a: Analysis, by: By, dtype: Dtype, counted: Counted | None = None,
                  energy: NetworkEnergy | None = None) -> list[dict[str, Any]]:
    """For a page (markdown, LaTeX): the rich view's headers and columns (Table 1's, or Table 2's), exact counts,
    a totals row; with a convention, its exact count in a column; with ``energy``, the energy in µJ last."""
    memory = f"Memory ({dtype}, bytes)"
    b = DTYPE_BYTES[dtype]
    ops = f"{counted.convention.name} ({counted.convention.unit})" if counted else ""

    def extra(count: int | None, pj: float | None) -> dict[str, Any]:
        from ..explore.energy import uj

        return {**({ops: count} if counted else {}), **({"Energy (µJ)": uj(pj)} if pj is not None else {})}

    total = extra(counted.total if counted else None, energy.pj if energy else None)
    if by == By.type:
        per_type = _by_category(a, counted) if counted else {}
        spent = energy_by_category(a, energy) if energy else {}
        records = [{"Type": g.category, "Layers": g.layers, **_exact(g.totals, a.totals, memory, b),
                    **extra(per_type.get(g.category), spent[g.category][0] if energy else None)} for g in a.by_type()]
        return [*records, {"Type": "Total", "Layers": len(a.rows), **_exact(a.totals, a.totals, memory, b), **total}]
    records = [{"Name": r.name, "Type / Stride": type_label(r), "Filter Shape": r.filter_shape,
                "Input Size": _input_sizes(r.node.inputs), **_exact(r, a.totals, memory, b),
                **extra(counted.layers[i].count if counted else None, energy.layers[i].pj if energy else None)}
               for i, r in enumerate(a.rows)]
    return [*records, {"Name": "Total", **_exact(a.totals, a.totals, memory, b), **total}]


def _exact(c: Row | Totals, whole: Totals, memory: str, b: int) -> dict[str, Any]:
    return {"Mult-Adds": c.mult_adds, "% MA": round(share(c.mult_adds, whole.mult_adds), 2), "Params": c.params,
            "% P": round(share(c.params, whole.params), 2), memory: c.memory_access * b}


def frame_text(a: Analysis, fmt: Format, by: By, dtype: Dtype, counted: Counted | None = None,
               energy: NetworkEnergy | None = None) -> str:
    """csv (tidy: raw variable names) or a document — markdown or LaTeX: a title (caption), the rich view's
    columns and headers, and a totals row — of an analysis; with ``energy``, its columns too."""
    if fmt == Format.csv:
        return records_text(tidy_records(a, by, dtype, counted, energy), fmt)
    heading = title(a) + (f" · counted as {counted.convention.name} ({counted.convention.unit})" if counted else "")
    heading += f" · energy on {energy.hardware} ({energy.model.dtype})" if energy else ""
    label = f"{a.network}-{'types' if by == By.type else 'layers'}"  # \label keys are unique per table
    return records_text(latex_records(a, by, dtype, counted, energy), fmt, title=heading, label=label)


def _by_category(a: Analysis, counted: Counted) -> dict[str, int]:
    from ..analysis.conventions import by_category  # the rules load only when a convention is asked for

    return by_category(a, counted)
