"""The decision as one small standalone HTML page (results/decision.html): both trees, node by node.

Each tree gets its branch and next step in a highlighted box and a table of
the nodes visited: question, measured figures, thresholds, answer. The node
that settled the branch is highlighted; a "cannot decide" node lists what is
missing. Every text from the decision is escaped; the page has no scripts
and no external resources.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:80em;color:#222}
table{border-collapse:collapse;width:100%;margin:0.5em 0 2em}
th,td{border:1px solid #ccc;padding:0.35em 0.6em;vertical-align:top;text-align:left;font-size:0.92em}
th{background:#f2f2f2}
tr.taken td{background:#fff6d6}
.branch{border-left:6px solid #2a7;background:#eefaf2;padding:0.6em 1em;margin:0.5em 0}
.branch.undecided{border-color:#d80;background:#fff3e0}
.ans-yes{color:#176d3b;font-weight:600}.ans-no{color:#666}
.ans-cannot-decide{color:#b35900;font-weight:600}.ans-manual{color:#2456a6;font-weight:600}
ul{margin:0;padding-left:1.2em}
code{font-size:0.95em}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _value(value: Any) -> str:
    if isinstance(value, float):
        return _e(f"{value:.4g}")
    if isinstance(value, (dict, list)):
        return f"<code>{_e(json.dumps(value, sort_keys=True, default=str))}</code>"
    return _e("n/a" if value is None else value)


def _items(mapping: Mapping[str, Any]) -> str:
    if not mapping:
        return ""
    return "<ul>" + "".join(f"<li>{_e(k)}: {_value(v)}</li>" for k, v in mapping.items()) + "</ul>"


def _node_row(record: Mapping[str, Any], taken: bool) -> str:
    answer = str(record.get("answer", ""))
    notes = []
    if record.get("missing"):
        notes.append("<b>missing:</b><ul>" + "".join(f"<li>{_e(m)}</li>" for m in record["missing"]) + "</ul>")
    for key in ("note", "threshold_sets"):
        if key in record:
            notes.append(f"<b>{_e(key)}:</b> {_value(record[key])}")
    if record.get("context"):
        notes.append("<b>context:</b>" + _items(record["context"]))
    if record.get("outcome"):
        notes.append(f"<b>outcome:</b> {_e(record['outcome'])}")
    cls = ' class="taken"' if taken else ""
    return (f"<tr{cls}><td>{_e(record.get('node', ''))}</td><td>{_e(record.get('question', ''))}</td>"
            f"<td>{_items(record.get('measured', {}))}</td><td>{_items(record.get('threshold', {}))}</td>"
            f"<td class=\"ans-{_e(answer.replace(' ', '-'))}\">{_e(answer)}</td><td>{''.join(notes)}</td></tr>")


def tree_section(title: str, tree: Mapping[str, Any], every_node_taken: bool) -> str:
    """One tree: heading, branch box, node table. every_node_taken: highlight every node (a sequential tree,
    whose steps each give an outcome) rather than the last one only (a branching tree)."""
    nodes = tree.get("nodes", [])
    undecided = "" if tree.get("decided") else " undecided"
    rows = "".join(_node_row(n, every_node_taken or i == len(nodes) - 1) for i, n in enumerate(nodes))
    return (f"<h2>{_e(title)} <small>({_e(tree.get('tree', ''))})</small></h2>"
            f"<div class=\"branch{undecided}\"><b>Branch:</b> {_e(tree.get('branch', ''))}<br>"
            f"<b>Next step:</b> {_e(tree.get('next_step', ''))}</div>"
            "<table><tr><th>node</th><th>question</th><th>measured</th><th>threshold</th><th>answer</th>"
            f"<th>notes</th></tr>{rows}</table>")


def render_page(decision: Mapping[str, Any]) -> str:
    """The standalone HTML page of a decision (the stage's results/decision.json contents)."""
    prov = decision.get("provenance", {})
    inputs = decision.get("inputs", {})
    sections = [tree_section("Experiment-matrix tree", decision["matrix"], False),
                tree_section("Sequential tree", decision["sequential"], True)]
    listed = "".join(f"<li>{_e(kind)}: {_value(paths)}</li>" for kind, paths in inputs.items())
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Decisions</title>"
            f"<style>{STYLE}</style></head><body><h1>Decisions</h1>"
            "<p>The lens team's two decision trees applied to this project's gates, realism and selection outputs "
            "(docs/decisions.md). A node that <i>cannot decide</i> names the run, gate or file that is missing; "
            "no branch is taken on a guess.</p>"
            + "".join(sections)
            + f"<h2>Inputs</h2><ul>{listed}</ul>"
            f"<p><small>config sha256 {_e(prov.get('config_sha256', 'n/a'))}; code hash {_e(prov.get('code_hash'))}; "
            f"git {_e(prov.get('git_commit', 'n/a'))}</small></p></body></html>\n")
