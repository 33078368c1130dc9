"""The notebook runs as Jupyter runs it: every cell inside one running event loop."""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path
from typing import Any

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "quickstart.ipynb"


def test_notebook_cells_run_inside_a_running_loop() -> None:
    cells = [
        "".join(c["source"])
        for c in json.loads(NOTEBOOK.read_text())["cells"]
        if c["cell_type"] == "code"
    ]
    namespace: dict[str, Any] = {}

    async def kernel() -> None:
        asyncio.get_running_loop()  # as in IPython: a loop is running while cells execute
        for source in cells:
            code = compile(source, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            result = eval(code, namespace)  # noqa: S307 - our own notebook
            if asyncio.iscoroutine(result):
                await result

    asyncio.run(kernel())
    assert namespace["info"].version == 2
