"""The repository stands alone and its package's imports point one way.

Three properties a user notices only when they break: a fresh clone that cannot run its tests
(a file pointing outside the repository), an ``ImportError`` from a circular import that depends
on which module was imported first, and ``import agentrun_creds_plugin`` dragging in heavy SDKs.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import agentrun_creds_plugin

PACKAGE = "agentrun_creds_plugin"
PACKAGE_DIR = Path(agentrun_creds_plugin.__file__).resolve().parent
REPO = Path(__file__).resolve().parents[1]

#: Libraries that ``import agentrun_creds_plugin`` must leave unloaded: integrations and
#: transports are imported on use only.
HEAVY = (
    "openai",
    "anthropic",
    "langchain_core",
    "httpx2",
    "httpx",
    "requests",
    "psycopg",
    "click",
    "starlette",
    "fastapi",
    "uvicorn",
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def imported_names(path: Path, name: str, modules: set[str]) -> Iterator[str]:
    """Every absolute module name ``path`` imports, anywhere in the file.

    ``ast.walk`` visits every node, so imports inside functions, ``try`` blocks and
    ``if TYPE_CHECKING:`` blocks count the same as top-level ones: a cycle through a lazy import
    still means two modules that cannot be understood (or typed) apart.
    """
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                here = name.split(".") if is_package else name.split(".")[:-1]
                keep = len(here) - (node.level - 1)
                assert keep > 0, f"{path}: relative import beyond the top package"
                base = ".".join(here[:keep])
                target = f"{base}.{node.module}" if node.module else base
            else:
                assert node.module is not None
                target = node.module
            submodules = [
                f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in modules
            ]
            # ``from . import fields`` reaches a sibling module, not the package's own ``__init__``
            # (which Python has already run, being the parent): count the sibling only.
            if len(submodules) < len(node.names):
                yield target
            yield from submodules


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports (itself excluded)."""
    modules = package_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph[name] = {
            target
            for target in imported_names(path, name, set(modules))
            if target in modules and target != name
        }
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a closed path (first module repeated at the end), or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def test_the_walker_sees_lazy_and_type_checking_imports() -> None:
    """The graph is only worth something if it sees the imports that hide."""
    graph = import_graph()
    cli = [name for name in graph if name.startswith(f"{PACKAGE}.cli.")]
    assert any(f"{PACKAGE}.store" in graph[name] for name in cli)
    # ``from . import fields`` is an edge to the sibling, not to the package
    assert f"{PACKAGE}.cli.fields" in graph[f"{PACKAGE}.cli.credentials"]
    assert f"{PACKAGE}.cli" not in graph[f"{PACKAGE}.cli.credentials"]
    # store.http_auth reaches outbound by a local import inside the method
    assert f"{PACKAGE}.outbound" in graph[f"{PACKAGE}.store"]
    # and types against CredentialAuth under TYPE_CHECKING
    assert f"{PACKAGE}.outbound.auth" in graph[f"{PACKAGE}.store"]


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_package_imports_have_no_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_lower_modules_never_import_the_store() -> None:
    """Only the store's front (``__init__``) and the layers above it may import it.

    Above the store: the CLI, the integrations, the shipped test suite, ``migrate`` (which
    copies one store into another) and ``bundle`` (which exports and imports one).
    """
    graph = import_graph()
    above = ("cli", "integrations", "testing", "migrate", "bundle")
    importers = {
        name
        for name, targets in graph.items()
        if f"{PACKAGE}.store" in targets
        and name != PACKAGE
        and not any(
            name == f"{PACKAGE}.{top}" or name.startswith(f"{PACKAGE}.{top}.") for top in above
        )
    }
    assert importers == set(), f"these modules import store.py: {sorted(importers)}"


#: Folders that are made locally, never shipped: skipped when there is no git to ask.
UNSHIPPED = {".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".demo"}


def repository_files() -> list[Path]:
    """The tracked files (``git ls-files``), or, in a copy without ``.git``, every shipped file."""
    if (REPO / ".git").exists():
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
        ).stdout.decode()
        return [REPO / relative for relative in filter(None, listed.split("\0"))]
    return [
        path
        for path in REPO.rglob("*")
        if path.is_file()
        and not any(
            part in UNSHIPPED or part.endswith(".egg-info") for part in path.relative_to(REPO).parts
        )
    ]


def test_no_tracked_file_refers_outside_the_repository() -> None:
    """A fresh clone has nothing beside it, so no file may lean on a sibling folder."""
    needle = ("../" + "shared").encode()  # split so this file does not match itself
    files = repository_files()
    assert any(path.name == "signing.json" for path in files), "the vectors must be in the repo"
    offenders = [
        str(path.relative_to(REPO))
        for path in files
        if path.is_file() and needle in path.read_bytes()
    ]
    assert offenders == [], f"files referring to {needle.decode()}: {offenders}"


def test_importing_the_package_stays_light() -> None:
    """``import agentrun_creds_plugin`` in a fresh interpreter loads none of the SDKs."""
    code = (
        "import json, sys; import agentrun_creds_plugin; "
        f"print(json.dumps(sorted(m for m in {list(HEAVY)!r} if m in sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == [], result.stdout
