"""`mobcost table`, `specs` and `validate`: a network's closed-form costs, the bundled specs, a spec check."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..analysis import Analysis, Convention, Step, analyze, shrink_steps
from ..errors import OptionError
from ..report.formats import TABULAR, Format, clean
from ..report.table import (
    By,
    Dtype,
    Section,
    analysis_dict,
    frame_text,
    layer_table,
    shrink_table,
    step_dicts,
    type_table,
)
from ..spec import Spec, bundled_names, load_bundled
from .common import (
    AlphaOpt,
    ConventionOpt,
    FormatOpt,
    OutputOpt,
    ResolutionOpt,
    RhoOpt,
    SpecArg,
    app,
    emit,
    emit_json,
    emit_records,
    friendly,
    load,
    render_rich,
)

if TYPE_CHECKING:
    from ..analysis.conventions import Counted
    from ..explore.energy import NetworkEnergy


EnergyHardwareOpt = Annotated[str | None, typer.Option(
    "--hardware", "-H", help="Also show the energy per layer, per type and in total on this hardware profile (a "
    "bundled name or a YAML file): its active power × the predicted latency, split between compute and memory in "
    "the proportions of Horowitz's ISSCC 2014 figures; those figures alone where the profile gives no power.",
    show_default=False)]


@app.command()
@friendly
def table(
    spec: SpecArg = None,
    alpha: AlphaOpt = 1.0,
    rho: RhoOpt = None,
    resolution: ResolutionOpt = None,
    fmt: FormatOpt = Format.rich,
    by: Annotated[By, typer.Option("--by", help="One row per layer, or per layer type (the paper's Table 2).")]
    = By.layer,
    dtype: Annotated[Dtype | None, typer.Option("--dtype", help="Also show bytes for this element type.",
                                                show_default=False)] = None,
    sections: Annotated[list[Section] | None, typer.Option(
        "--section", "-s", help="Rich view only: which sections to show (repeatable). Default: layers, types "
        "(Table 2) and shrink (Table 3); with --by type, types only, and the per-type table stands in for "
        "layers (as `types` replaces `layers` in JSON).", show_default=False)] = None,
    classes: Annotated[int | None, typer.Option("--classes", help="Classifier width (the last layer with "
                                                "`out`): e.g. 1001, or 120 for Stanford Dogs.",
                                                show_default=False)] = None,
    proposals: Annotated[int | None, typer.Option("--proposals", help="Region proposals per image for a two-stage "
                                                  "detector's `per_roi` layers (the spec's `proposals:`, 300 in "
                                                  "the MobileNets paper).", show_default=False)] = None,
    fc_bias: Annotated[bool, typer.Option("--fc-bias/--no-fc-bias", help="Count FC biases as parameters "
                                          "(the paper's Table 2 does not).")] = True,
    bn_in_params: Annotated[bool, typer.Option("--bn-in-params", help="Count BatchNorm γ, β as parameters "
                                               "(as torchvision and Keras summaries do).")] = False,
    first_layer: Annotated[bool, typer.Option("--first-layer/--no-first-layer", help="Count the first layer "
                                              "with weights (some papers leave it out).")] = True,
    convention: ConventionOpt = None,
    hardware: EnergyHardwareOpt = None,
    output: OutputOpt = None,
) -> None:
    """Mult-Adds, parameters and memory access of a network at width α and resolution ρ.

    The rich view shows the per-layer table (the paper's Table 1 columns plus costs), the per-type
    view (Table 2) and the shrinking steps (Table 3) for the given α and ρ; with --hardware, the energy too.
    """
    refuse_sections(sections, fmt)
    s = _with_counts(load(spec), classes, proposals)
    a = analyze(s, alpha, rho, resolution,
                Convention(fc_bias=fc_bias, bn_in_params=bn_in_params, first_layer=first_layer))
    counted = counted_as(a, convention, first_layer)
    energy = energy_on(a, hardware)
    dtype = dtype or (Dtype(energy.model.dtype) if energy and fmt != Format.rich else None)  # bytes as the energy's
    if fmt == Format.rich:
        chosen = chosen_sections(sections, by)
        render_rich(*rich_sections(a, chosen, dtype, rho, resolution, counted, energy), output=output)
    elif fmt == Format.json:
        emit_json(table_document(a, by, dtype, counted, energy, rho, resolution), output)
    else:
        emit(frame_text(a, fmt, by, dtype or Dtype.fp32, counted, energy), output)


def _with_counts(s: Spec, classes: int | None, proposals: int | None) -> Spec:
    """--classes and --proposals applied to the spec (imported here: most tables take neither)."""
    from ..spec.transforms import with_classes, with_proposals

    s = s if classes is None else with_classes(s, classes)
    return s if proposals is None else with_proposals(s, proposals)


def refuse_sections(sections: list[Section] | None, fmt: Format) -> None:
    """Sections outside the rich view: an error, as silently dropping the choice would mislead."""
    if sections and fmt != Format.rich:
        raise OptionError(f"only the rich view has sections; {fmt.value} output holds one table: choose it with "
                          "--by layer or --by type", where="--section")


def chosen_sections(sections: list[Section] | None, by: By) -> list[Section]:
    """The rich view's sections: all three by default, the types alone with --by type. One row per type was
    asked for, so --by type never shows a per-layer table: types stands in for layers (rich_sections dedupes)."""
    chosen = sections or ([Section.types] if by == By.type else list(Section))
    return [Section.types if s == Section.layers else s for s in chosen] if by == By.type else chosen


def table_document(a: Analysis, by: By, dtype: Dtype | None, counted: Counted | None, energy: NetworkEnergy | None,
                   rho: float | None, resolution: int | None) -> dict[str, Any]:
    """The JSON document: the analysis, then Table 3's rows (with a note when some have no figures)."""
    doc = analysis_dict(a, by, dtype or Dtype.fp32, counted, energy)
    example, network = shrink_views(a, rho, resolution)
    doc["table3"] = {"example_layer": step_dicts(example), "network": step_dicts(network)}
    if shrink_note(example, network):
        doc["table3"]["note"] = shrink_note(example, network)
    return doc


def energy_on(a: Analysis, hardware: str | None) -> NetworkEnergy | None:
    """The network's energy on ``--hardware`` (None without it: the outputs are then exactly as before)."""
    if hardware is None:
        return None
    from ..explore.energy import network_energy
    from ..explore.hardware import load_hardware

    return network_energy(a.graph, load_hardware(hardware))


def counted_as(a: Analysis, convention: Any, first_layer: bool) -> Counted | None:
    """The analysis counted under ``--convention`` (None without it)."""
    if convention is None:
        return None
    from ..analysis.conventions import count_analysis

    return count_analysis(a, str(convention.value), first_layer)


def shrink_views(a: Analysis, rho: float | None, resolution: int | None) -> tuple[tuple[Step, ...], tuple[Step, ...]]:
    """Table 3 for the example layer and for the network, at the analysis's α and size. A row a column cannot
    take (the network is only valid at other sizes or widths; the example layer would outgrow the size
    limit) comes without figures, its reason in :func:`shrink_note`: the section never fails the command."""
    example = load_bundled("table3_separable")
    if resolution is not None:  # the example layer's 14×14 map scales like the network's input
        rho, resolution = resolution / a.graph.spec.size, None
    return (shrink_steps(example, a.graph.alpha, rho, thin_input=True),
            shrink_steps(a.graph.spec, a.graph.alpha, rho, resolution))


def shrink_note(example: tuple[Step, ...], network: tuple[Step, ...]) -> str:
    """Why some Table 3 rows have no figures ("" when every row has them)."""
    missing = [f"{column} {s.label!r}: {s.note}" for column, steps in (("example", example), ("network", network))
               for s in steps if not s.defined]
    return ("Rows left out of Table 3 — " + "; ".join(missing)) if missing else ""


def rich_sections(a: Analysis, chosen: list[Section], dtype: Dtype | None, rho: float | None,
                  resolution: int | None, counted: Counted | None = None,
                  energy: NetworkEnergy | None = None) -> list[Any]:
    out: list[Any] = []
    for section in dict.fromkeys(chosen):
        if section == Section.layers:
            out.append(layer_table(a, dtype, counted, energy))
        elif section == Section.types:
            out.append(type_table(a, dtype, counted, energy))
        else:
            example, network = shrink_views(a, rho, resolution)
            kept = [(e, n) for e, n in zip(example, network, strict=True) if e.defined and n.defined]
            if kept:
                out.append(shrink_table(*map(tuple, zip(*kept, strict=True)), a.network))
            if shrink_note(example, network):
                from rich.text import Text

                out.append(Text(shrink_note(example, network)))
    return out


@app.command()
@friendly
def specs(fmt: FormatOpt = Format.rich, output: OutputOpt = None) -> None:
    """List the bundled specs with their totals at α=1 and their own input size."""
    check_specs_output(output)
    entries = []
    for name in bundled_names():
        s = load_bundled(name)
        t = analyze(s).totals
        entries.append({"name": name, "network": s.name, "description": s.description,
                        "input": [s.channels, *s.input_hw], "layers": len(s.layers),
                        "mult_adds": t.mult_adds, "params": t.params, "bn_params": t.bn_params,
                        "memory_access": t.memory_access, "source": s.source})
    if fmt == Format.json:
        emit_json({"specs": entries}, output)
    elif fmt in TABULAR:
        emit_records(entries, fmt, output)
    else:
        from ..report.specs import specs_table

        render_rich(specs_table(entries), output=output)


def check_specs_output(output: Path | None) -> None:
    """As every command's --output, checked before the work; and never one of the bundled specs it reads
    (the list written over mobilenet_v1.yaml would break every command that loads it)."""
    from ..spec.bundled import specs_dir
    from .sweep import check_output

    check_output(output)
    if output is not None and Path(output).resolve() in {(specs_dir() / f"{n}.yaml").resolve()
                                                           for n in bundled_names()}:
        raise OptionError("is a bundled spec, which `specs` reads; write the list elsewhere", file=str(output),
                          where="--output")


@app.command()
@friendly
def validate(spec: Annotated[str, typer.Argument(help="Spec file or bundled spec name.")],
             alpha: AlphaOpt = 1.0, rho: RhoOpt = None, resolution: ResolutionOpt = None) -> None:
    """Check a spec (syntax, keys, types, shapes) and say where it is wrong.

    Computes everything `mobcost table` shows by default (every section, Table 3 included) at the same α
    and size, so a spec that validates is one `table` takes.
    """
    s = load(spec)
    a = analyze(s, alpha, rho, resolution)
    rich_sections(a, list(Section), None, rho, resolution)  # built, not drawn: drawing 10,000 rows takes seconds
    print(f"ok: {clean(s.file)}: {clean(s.name)}, {len(s.layers)} layers, {a.totals.mult_adds:,} Mult-Adds, "
          f"{a.totals.params:,} params at α={alpha:g}, {a.graph.input.h}×{a.graph.input.w}")
