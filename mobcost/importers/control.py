"""Control flow (``If``, ``Loop``, ``Scan``): what a node's subgraphs read, and the branch an ``If`` takes.

A node is a constant only if everything it reads is — its inputs and the names its subgraphs take from the
enclosing graph alike; otherwise a Loop whose body convolves the image would be folded away as a constant and
its Mult-Adds reported as zero. An ``If`` whose condition is a known constant is replaced by the branch it
takes (its nodes join the graph, so its convolutions are counted and the other branch's are not); one whose
condition depends on the data, and every Loop or Scan on the data path, stays an operator mobcost has no layer
for: a located error, or with ``allow_unknown`` an operator listed as left out — never a silent zero.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .model import OpGraph

if TYPE_CHECKING:
    from onnx import GraphProto, ModelProto, NodeProto

MAX_NESTING = 8  # an If inside a taken branch is resolved in the next round; past this depth it stays an If


def subgraphs(node: NodeProto) -> list[GraphProto]:
    from onnx import AttributeProto

    found: list[GraphProto] = []
    for a in node.attribute:
        if a.type == AttributeProto.GRAPH:
            found.append(a.g)
        elif a.type == AttributeProto.GRAPHS:
            found.extend(a.graphs)
    return found


def implicit_inputs(node: NodeProto) -> list[str]:
    """The names a node's subgraphs (and theirs, at any depth) read from the scopes around the node."""
    free: list[str] = []
    for g in subgraphs(node):
        defined = {i.name for i in g.input} | {t.name for t in g.initializer}
        for inner in g.node:
            free += [t for t in (*inner.input, *implicit_inputs(inner)) if t and t not in defined]
            defined.update(inner.output)
        free += [o.name for o in g.output if o.name not in defined]
    return free


def inline_taken(proto: ModelProto, graph: OpGraph) -> ModelProto | None:
    """A copy of the (shape-inferred) model with every data-path ``If`` whose condition ``graph`` knows
    replaced by the branch it takes; None when there is none. Its shapes are left to be inferred again."""
    from .checks import take_declared

    taken = {}
    for op in graph.ops:
        cond = graph.const(op.inputs[0]) if op.op == "If" and not op.domain and op.inputs else None
        if cond is not None and cond.scalar is not None:
            taken[op.outputs[0]] = "then_branch" if cond.scalar else "else_branch"
    if not taken:
        return None
    copy = type(proto)()
    copy.CopyFrom(proto)
    take_declared(copy)  # the If's outputs were inferred as the merge of both branches: inferred again below
    nodes = list(copy.graph.node)
    del copy.graph.node[:]
    for node in nodes:
        if node.op_type == "If" and node.domain in ("", "ai.onnx") and node.output and node.output[0] in taken:
            branch = next(a.g for a in node.attribute if a.name == taken[node.output[0]])
            copy.graph.node.extend(_branch_nodes(node, branch, copy))
        else:
            copy.graph.node.append(node)
    return copy


def _branch_nodes(node: NodeProto, branch: GraphProto, model: ModelProto) -> list[NodeProto]:
    """The branch's nodes, its names prefixed by the If's first output (unique in the graph), its outputs
    renamed to the If's; its initializers join the model's."""
    from onnx import helper

    prefix = f"{node.output[0]}::"
    stored = {t.name for t in branch.initializer}
    renamed = {name: prefix + name for name in stored}
    for inner in branch.node:
        renamed.update({t: prefix + t for t in inner.output if t})
    copies: list[NodeProto] = []
    for out, target in zip(branch.output, node.output, strict=False):
        if out.name in renamed and renamed[out.name].startswith(prefix) and out.name not in stored:
            renamed[out.name] = target  # made inside the branch: its node writes the If's output directly
        else:  # an outer name (or one already given to another output) passes through an Identity
            copies.append(helper.make_node("Identity", [renamed.get(out.name, out.name)], [target],
                                           name=f"{node.name or node.output[0]}/out"))
    for t in branch.initializer:
        weight = type(t)()
        weight.CopyFrom(t)
        weight.name = renamed[t.name]
        model.graph.initializer.append(weight)
    inlined = []
    for inner in branch.node:
        n = type(inner)()
        n.CopyFrom(inner)
        _rename(n, renamed)
        inlined.append(n)
    return inlined + copies


def _rename(node: Any, renamed: dict[str, str]) -> None:
    """Rename a node's inputs and outputs, and the outer names its own subgraphs read (ONNX forbids a
    subgraph to shadow an outer name, so every match is a reference)."""
    for field in (node.input, node.output):
        for i, t in enumerate(field):
            field[i] = renamed.get(t, t)
    for g in subgraphs(node):
        for inner in g.node:
            _rename(inner, renamed)
        for out in g.output:
            out.name = renamed.get(out.name, out.name)
