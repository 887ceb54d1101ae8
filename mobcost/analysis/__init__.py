"""Graph → costs: per-layer rows and totals under a counting convention, the per-type view (Table 2),
the shrinking steps (Table 3), and the paper's published figures recomputed."""

from __future__ import annotations

from .costs import COSTS, DEFAULT, Analysis, Convention, Group, Row, Totals, analyze, analyze_graph, cost_row
from .table3 import Step, final_size, shrink_steps

__all__ = ["COSTS", "DEFAULT", "Analysis", "Convention", "Group", "Row", "Step", "Totals", "analyze",
           "analyze_graph", "cost_row", "final_size", "shrink_steps"]
