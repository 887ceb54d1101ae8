"""The ``mobcost`` command line: one small module per command group, each parsing its options, calling the
library and handing the result to a view. Importing them registers the commands, in the order
``mobcost --help`` lists them — so the imports below are kept in that order, not sorted."""

from __future__ import annotations

# isort: off
from .common import app
from . import table  # noqa: F401  table, specs, validate
from . import paper  # noqa: F401
from . import sweep  # noqa: F401
from . import plot  # noqa: F401
from . import latency  # noqa: F401  calibrate, latency
from . import check  # noqa: F401
from . import explain  # noqa: F401
from . import memory  # noqa: F401
from . import importing  # noqa: F401  import
from . import schema  # noqa: F401
# isort: on

__all__ = ["app"]
