"""The notebook runs as Jupyter runs it: every cell inside one running event loop."""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

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
    assert namespace["info"].version == 3  # created, rotated, described


SECRETS = ("sk-notebook-0001", "sk-notebook-0002")


def _outputs(cell: Any, mime: str) -> str:
    return "".join(
        str(o.get("data", {}).get(mime, ""))
        + str(o.get("text", "") if mime == "text/plain" else "")
        for o in cell.get("outputs", [])
    )


def test_notebook_executes_in_a_kernel_and_shows_masked_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run by a real Jupyter kernel (nbclient + ipykernel): no errors, tables, no secret."""
    monkeypatch.setenv("AGENTRUN_CREDS_SECRETS_DIR", str(tmp_path / "none"))
    nb = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    everything = "".join(_outputs(c, "text/html") + _outputs(c, "text/plain") for c in code)
    assert "error" not in {o.get("output_type") for c in code for o in c.get("outputs", [])}
    for secret in SECRETS:
        assert secret not in everything
    info_html, attachments_html, list_html, audit_html = (
        _outputs(code[i], "text/html") for i in (0, 3, 4, 6)
    )
    for html in (info_html, attachments_html, list_html, audit_html):
        assert html.startswith("<table>")
    assert "sk-...0001" in info_html  # the masked preview of the key as created
    assert "sk-...0002" in list_html  # and after the rotation
    assert "<td>model</td><td>gpt</td>" in attachments_html
    assert "409" in _outputs(code[3], "text/plain")  # delete refused while attached
    assert "401" in _outputs(code[2], "text/plain")  # disabled
    assert "disable" in audit_html and "update" in audit_html
    assert "(True, 3)" in _outputs(code[5], "text/plain")
