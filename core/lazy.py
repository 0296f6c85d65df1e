"""A module imported on first use.

The report command (`python -m core report`) reaches core.metrics, which builds DataFrames for the pages
but none for the report; importing pandas at module level was about 0.2 s of the command's 0.75 s at 1M
leads (issue 13, measured with `python -X importtime`). Modules on that path write

    if TYPE_CHECKING:
        import pandas as pd
    else:
        from core.lazy import pandas as pd

so type checkers see pandas and the first attribute read at run time imports it.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)


pandas = LazyModule("pandas")
