"""Every "section N" / "section N.M" cited in the code names a heading of docs/science.md.

Docstrings, comments, Snakemake rules and schema descriptions cite the science page as
"docs/science.md section N" (or "sections 3, 5 and 8"). This module resolves each cited number to a
`## N.` or `### N.M` heading, rejects the old file name SCIENCE.md under src/, and pins the top-level
numbering 1..11 that those citations rely on.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCIENCE = REPO / "docs" / "science.md"
N_SECTIONS = 11

_NUM = r"\d+(?:\.\d+)?"
# "section 7", "sections 7 and 8", "sections 3, 5 and 8", "sections 7, 8" (case-insensitive).
SECTION_REF = re.compile(rf"\bsections?\s+({_NUM}(?:(?:\s*,\s*and\s+|\s*,\s*|\s+and\s+){_NUM})*)", re.IGNORECASE)
NUMBER = re.compile(_NUM)
H2 = re.compile(r"^##\s+(\d+)\.\s+\S")
H3 = re.compile(r"^###\s+(\d+\.\d+)\s+\S")
FENCE = re.compile(r"^\s*(```|~~~)")


def science_headings(text: str) -> tuple[list[str], list[str]]:
    """(level-2 numbers, level-3 numbers) of the numbered headings, in order, outside fenced blocks."""
    h2: list[str] = []
    h3: list[str] = []
    in_fence = False
    for line in text.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        if m := H2.match(line):
            h2.append(m.group(1))
        elif m := H3.match(line):
            h3.append(m.group(1))
    return h2, h3


def section_refs(line: str) -> list[str]:
    """Every section number cited in one line, lists included."""
    return [n for m in SECTION_REF.finditer(line) for n in NUMBER.findall(m.group(1))]


def scanned_files() -> list[Path]:
    """The .py files of src/ and benchmarks/, Snakefiles and .smk rules, and workflow/schemas/*.yaml."""
    files: set[Path] = set()
    for top in ("src", "benchmarks"):
        if (REPO / top).is_dir():
            files.update((REPO / top).rglob("*.py"))
    files.update(REPO.rglob("*.smk"))
    files.update(p for p in REPO.rglob("Snakefile") if p.is_file())
    files.update((REPO / "workflow" / "schemas").glob("*.yaml"))
    skip = {".git", ".venv", "results", "__pycache__", ".snakemake"}
    return sorted(p for p in files if not skip.intersection(p.relative_to(REPO).parts))


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def headings() -> set[str]:
    assert SCIENCE.is_file(), f"missing {SCIENCE.relative_to(REPO)}"
    h2, h3 = science_headings(_read(SCIENCE))
    return set(h2) | set(h3)


def test_section_ref_parser():
    assert section_refs("The engine (docs/science.md section 3).") == ["3"]
    assert section_refs("Priors (docs/science.md sections 3, 5 and 8).") == ["3", "5", "8"]
    assert section_refs("see Sections 7 and 8.2; and section 10.") == ["7", "8.2", "10"]
    assert section_refs("sections 7, 8") == ["7", "8"]
    assert section_refs("the section text, section headers") == []


def test_science_md_top_level_headings_in_order():
    h2, h3 = science_headings(_read(SCIENCE))
    assert h2 == [str(n) for n in range(1, N_SECTIONS + 1)], f"docs/science.md '## N.' headings: {h2}"
    for sub in h3:
        assert sub.split(".")[0] in h2, f"subsection {sub} has no parent '## {sub.split('.')[0]}.'"
    assert len(h3) == len(set(h3)), f"duplicate subsection numbers: {h3}"


def test_every_section_reference_resolves(headings):
    unresolved = []
    for path in scanned_files():
        for lineno, line in enumerate(_read(path).splitlines(), start=1):
            for number in section_refs(line):
                if number not in headings:
                    unresolved.append(f"{path.relative_to(REPO)}:{lineno}: section {number}")
    assert not unresolved, "section numbers with no heading in docs/science.md:\n" + "\n".join(unresolved)


def test_no_stale_science_md_name_in_src():
    stale = []
    for path in sorted((REPO / "src").rglob("*")):
        if not path.is_file() or any(part == "__pycache__" or part.endswith(".egg-info") for part in path.parts):
            continue  # build outputs (egg-info copies README.md), not sources
        for lineno, line in enumerate(_read(path).splitlines(), start=1):
            if "SCIENCE.md" in line:
                stale.append(f"{path.relative_to(REPO)}:{lineno}")
    assert not stale, "src/ still cites SCIENCE.md (now docs/science.md):\n" + "\n".join(stale)
