"""Hash of the library code a stage runs (stdlib only: the Snakefile imports it).

Snakemake reruns a job when its params change but does not look inside the
Python modules a stage imports. `stage_code_hash` follows the ``stronglens``
imports of ``stronglens/stages/<stage>.py`` transitively (parsed with ast, not
executed) and hashes those source files, so the hash goes into the rule's
params and a change to any module the stage uses reruns that stage only.
Not tracked: third-party packages (their versions are recorded in provenance).
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

PACKAGE = "stronglens"


def _module_file(src_root: Path, module: str) -> Path | None:
    base = src_root.joinpath(*module.split("."))
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == PACKAGE:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == PACKAGE)
    return found


def stage_modules(src_root: Path, stage: str) -> list[Path]:
    """Source files reachable from stronglens.stages.<stage> through stronglens imports."""
    start = f"{PACKAGE}.stages.{stage}"
    seen: dict[str, Path] = {}
    todo = [start, PACKAGE]
    while todo:
        mod = todo.pop()
        path = _module_file(src_root, mod)
        if path is None or mod in seen:
            continue
        seen[mod] = path
        parts = mod.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))  # parent packages run too
        todo.extend(_imports(path))
    if start not in seen:
        raise FileNotFoundError(f"no stage module {start} under {src_root}")
    return sorted(set(seen.values()))


@cache
def stage_code_hash(src_root: str, stage: str) -> str:
    """SHA-256 (first 16 hex digits) over the stage's reachable library sources."""
    root = Path(src_root)
    digest = hashlib.sha256()
    for path in stage_modules(root, stage):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
