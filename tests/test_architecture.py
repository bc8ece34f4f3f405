"""The library's shape: imports run one way between stage packages, and stage scripts never share a module's name."""

from __future__ import annotations

import ast
from pathlib import Path

from helpers import REPO

PACKAGE = REPO / "src" / "stronglens"

# Rank of each package: a module may import its own package or a package of strictly lower rank.
RANKS = {
    "config": 0,
    "core": 0,
    "storage": 1,
    "physics": 1,
    "sources": 2,
    "data": 2,
    "survey": 3,
    "train": 3,
    "gates": 4,
    "selection": 4,
    "realism": 5,
    "figures": 6,
    "decisions": 6,
    "stages": 7,
}


def package_of(path: Path) -> str | None:
    """Top-level stronglens package of a source file (None for stronglens/__init__.py)."""
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else None


def stronglens_imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported top-level package) of every stronglens import in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("stronglens"):
            names = node.module.split(".")[1:2] or [a.name for a in node.names]
            found += [(node.lineno, n) for n in names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name.split(".")[1]) for a in node.names if a.name.startswith("stronglens.")]
    return found


def test_every_package_has_a_rank_and_says_what_it_owns():
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert packages == set(RANKS), f"packages without a rank (or ranks without a package): {packages ^ set(RANKS)}"
    for name in packages:
        doc = ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text()))
        assert doc and len(doc.split()) >= 12, f"stronglens/{name}/__init__.py must say in a paragraph what it owns"
    loose = [p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    assert not loose, f"modules outside any stage package: {loose}"


def test_imports_run_one_way():
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = package_of(path)
        if own is None:
            continue
        for line, target in stronglens_imports(path):
            if target not in RANKS:
                bad.append(f"{path.relative_to(REPO)}:{line}: imports unknown package stronglens.{target}")
            elif target != own and RANKS[target] >= RANKS[own]:
                bad.append(f"{path.relative_to(REPO)}:{line}: {own} (rank {RANKS[own]}) imports "
                           f"{target} (rank {RANKS[target]})")
    assert not bad, "imports against the stage order:\n" + "\n".join(bad)


def test_no_gates_module_imports_training_augmentation():
    for path in (PACKAGE / "gates").rglob("*.py"):
        text = path.read_text()
        assert "train.augment" not in text, f"{path}: shared interventions live in stronglens.data.interventions"


def test_no_stage_script_shares_a_name_with_a_library_module():
    stages = {p.stem for p in (PACKAGE / "stages").glob("*.py")} - {"__init__"}
    library = {p.stem: p for p in PACKAGE.rglob("*.py") if "stages" not in p.relative_to(PACKAGE).parts[:1]}
    clash = sorted(stages & set(library))
    assert not clash, "stage scripts named like library modules: " + ", ".join(
        f"stages/{n}.py vs {library[n].relative_to(PACKAGE)}" for n in clash)


def test_the_checker_catches_a_backward_import(tmp_path):
    """The rule itself can fail: a physics module importing from gates is flagged."""
    src = tmp_path / "mod.py"
    src.write_text("from stronglens.gates.verdict import verdict\nimport stronglens.core.rng\n")
    targets = [t for _, t in stronglens_imports(src)]
    assert targets == ["gates", "core"]
    assert RANKS["gates"] >= RANKS["physics"]
