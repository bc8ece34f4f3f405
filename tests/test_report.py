"""Figures, the HTML report (opened in headless Chromium) and the audit record of the end-to-end run."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from browser.cdp import Browser, find_chromium
from helpers import dry_run_with, snakemake

CFG = "config/test.yaml"
RUN_FIGURES = ("training", "roc", "gates", "theta_e_auroc", "core_sensitivity", "gallery", "gate_history")
SELECTION_FIGURES = ("selection_heatmaps", "selection_marginals", "selection_tornado", "selection_gallery", "selection_gap")


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG header; anything else is an error."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def expected_figures(workdir: Path) -> list[Path]:
    cfg = yaml.safe_load((workdir / CFG).read_text())
    fig = workdir / "results" / "figures"
    paths = [fig / run / f"{name}.png" for run in cfg["runs"] for name in RUN_FIGURES]
    paths += [fig / run / f"{name}.png" for run in cfg["selection"]["runs"] for name in SELECTION_FIGURES]
    return paths + [fig / "runs.png", fig / "sources" / "library.png", fig / "sources" / "sky.png"]


def test_every_figure_is_written_as_png_and_pdf(workdir):
    for png in expected_figures(workdir):
        w, h = png_size(png)
        assert w >= 300 and h >= 100, f"{png}: {w}x{h}"
        pdf = png.with_suffix(".pdf")
        assert pdf.read_bytes()[:5] == b"%PDF-", pdf


def test_gate_table_holds_every_gate_of_the_json(workdir):
    report = json.loads((workdir / "results" / "gates" / "tiny_paired.json").read_text())
    table = (workdir / "results" / "figures" / "tiny_paired" / "gates.html").read_text()
    for name, gate in report["gates"].items():
        assert f"<td>{name}</td>" in table
        assert gate["status"] in table
    experiments = (workdir / "results" / "figures" / "experiments.html").read_text()
    assert "tiny_paired" in experiments and "tiny_unpaired_mitigated" in experiments
    sky = json.loads((workdir / "results" / "gates" / "tiny_sky_run.json").read_text())  # no pairs: N/A gates
    sky_table = (workdir / "results" / "figures" / "tiny_sky_run" / "gates.html").read_text()
    na = [g for g in sky["gates"].values() if g["status"] == "N/A"]
    assert na and all((g.get("reason") or g.get("note")).split(":")[0] in sky_table for g in na)  # every N/A says why


def test_pipeline_info_records_config_commit_and_versions(workdir):
    info = workdir / "results" / "pipeline_info"
    software = json.loads((info / "software.json").read_text())
    assert software["packages"]["snakemake"] == "9.27.1" and software["packages"]["torch"].startswith("2.14.1")
    assert software["git_commit"] and len(software["config_sha256"]) == 64
    snapshot = yaml.safe_load((info / "config.yaml").read_text())
    assert snapshot["runs"].keys() == yaml.safe_load((workdir / CFG).read_text())["runs"].keys()
    assert snapshot["figures"]["selection_threshold"]  # defaults are filled in


def test_figures_rerun_alone_when_their_setting_changes(workdir, tmp_path):
    counts = dry_run_with(workdir, tmp_path, lambda c: c.setdefault("figures", {}).update(dpi=90))
    # pipeline_info snapshots the whole resolved config, so it reruns on any change (it is cheap)
    assert counts == {"all": 1, "figures_sources": 1, "figures_run": 3, "figures_selection": 1, "figures_compare": 1,
                      "figures_realism": 2, "pipeline_info": 1}, counts


# Drive the report the way a reader does: open a category, a run, press a result's view button.
CLICK = """
window.__click = (text, within) => {
  const scope = within ? document.querySelector(within) : document;
  const hits = [...scope.querySelectorAll('a,button,li,span,div,td')].filter(e => e.textContent.trim() === text);
  if (!hits.length) return false;
  hits[hits.length - 1].click();
  return true;
};
window.__viewRow = (label) => {
  const row = [...document.querySelectorAll('tr')].find(r => [...r.cells].some(c => c.textContent.trim() === label));
  if (!row) return false;
  const button = row.querySelector('a');
  if (!button) return false;
  button.click();
  return true;
};
window.__shownImage = async (path) => {
  const img = [...document.querySelectorAll('img')].find(i => i.src === results[path].data_uri);
  if (!img) return null;
  await img.decode();
  return {width: img.naturalWidth, height: img.naturalHeight};
};
true
"""

DECODE_ALL = """
(async () => {
  const out = {};
  for (const [path, r] of Object.entries(results)) {
    if (!r.mime_type.startsWith('image/')) { out[path] = {mime: r.mime_type}; continue; }
    const img = new Image();
    img.src = r.data_uri;
    await img.decode();
    out[path] = {mime: r.mime_type, width: img.naturalWidth, height: img.naturalHeight, caption: r.caption.length};
  }
  return out;
})()
"""


def report_key(path: Path, workdir: Path) -> str:
    """A result's key in the report: its path as the rule declared it (relative to the working directory)."""
    return str(path.relative_to(workdir))


def wait_for(browser: Browser, expression: str, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = browser.evaluate(expression)
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {expression}")


@pytest.fixture(scope="module")
def report_html(workdir) -> Path:
    path = workdir / "results" / "report.html"
    proc = snakemake(workdir, "--configfile", CFG, "--report", str(path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return path


def test_report_renders_every_figure_in_chromium(workdir, report_html):
    binary = find_chromium()
    assert binary, "Chromium is needed for this test: `make test` installs Debian's chromium (apt-get install chromium)"
    figures = expected_figures(workdir)
    with Browser(binary) as browser:
        browser.open(report_html)
        browser.evaluate(CLICK)
        decoded = browser.evaluate(DECODE_ALL)
        for png in figures:
            entry = decoded.get(report_key(png, workdir))
            assert entry is not None, f"{png} is not in the report"
            assert (entry["width"], entry["height"]) == png_size(png), png
            assert entry["caption"] > 0, f"{png} has no caption"
        n_runs = len(yaml.safe_load((workdir / CFG).read_text())["runs"])
        # a gate table per run, the experiments table and the decision trees' page
        assert sum(1 for e in decoded.values() if e["mime"] == "text/html") == n_runs + 2
        # Through the report's own navigation: a run's gallery, then the overview comparison.
        fig = workdir / "results" / "figures"
        for category, sub, label, png in (("2. Runs", "tiny_paired", "gallery", fig / "tiny_paired" / "gallery.png"),
                                          ("1. Overview", None, "all runs compared", fig / "runs.png"),
                                          ("3. Selection function", "tiny_paired", "selection heatmaps",
                                           fig / "tiny_paired" / "selection_heatmaps.png")):
            wait_for(browser, f"__click({json.dumps(category)}, 'nav')")
            if sub:
                wait_for(browser, f"__click({json.dumps(sub)}, 'nav')")
            wait_for(browser, f"__viewRow({json.dumps(label)})")
            key = json.dumps(report_key(png, workdir))
            shown = wait_for(browser, f"__shownImage({key})")
            assert (shown["width"], shown["height"]) == png_size(png), (category, label, shown)
            browser.screenshot(workdir / "results" / f"report_{category[0]}.png")
            wait_for(browser, "__click('Results', 'nav')")
        assert not browser.exceptions(), browser.exceptions()[:2]


def test_audit_target_writes_graphs_and_the_record(workdir):
    """`make audit` minus the set-up step: rule graph and job DAG as graphviz SVG and mermaid, config, software."""
    proc = subprocess.run(["make", "-s", "audit-files", f"BIN={Path(sys.executable).parent}", f"SMK_ARGS=--configfile {CFG}"], cwd=workdir,
                          capture_output=True, text=True, env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = workdir / "results" / "pipeline_info"
    for name in ("rulegraph", "dag"):
        svg = (info / f"{name}.svg").read_text()
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg
        for rule in ("simulate_survey", "train", "gates", "selection_shard", "figures_run"):
            assert rule in svg and rule in (info / f"{name}.mmd").read_text()
        assert (info / f"{name}.mmd").read_text().split("---")[-1].lstrip().startswith("flowchart")
    assert json.loads((info / "software.json").read_text())["packages"]["snakemake"] == "9.27.1"
    assert "Nothing to be done" in snakemake(workdir, "--configfile", CFG, "-n", "all").stdout  # the audit built nothing else
