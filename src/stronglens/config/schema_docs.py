"""The configuration guide (docs/configuration.md), generated from the workflow's JSON schemas.

python -m stronglens.config.schema_docs > docs/configuration.md   (`make docs`)

Walks workflow/schemas/config.schema.yaml (following local $refs, and the
training schema it references) and writes one table per block: key path,
type, default, allowed values or range, description. A test checks that the
committed guide equals the generated one, so the guide cannot drift from the
schema that validates every run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

SCHEMAS = Path(__file__).resolve().parents[3] / "workflow" / "schemas"


def load(name: str) -> dict:
    return yaml.safe_load((SCHEMAS / name).read_text())


def resolve(node: dict, root: dict) -> dict:
    """Follow a $ref (local '#/$defs/x' or a sibling schema file) and merge the referring node's own keys."""
    ref = node.get("$ref")
    if not ref:
        return node
    if ref.startswith("#/"):
        target = root
        for part in ref[2:].split("/"):
            target = target[part]
    else:
        target = load(ref)
    return {**resolve(target, root), **{k: v for k, v in node.items() if k != "$ref"}}


def type_text(node: dict) -> str:
    t = node.get("type", "")
    text = " or ".join(t) if isinstance(t, list) else t
    if "items" in node and isinstance(node["items"], dict) and node["items"].get("type"):
        n = node.get("minItems")
        size = f"{n}" if n is not None and n == node.get("maxItems") else ""
        text += f" of {size + ' ' if size else ''}{node['items']['type']}"
    return text


def allowed_text(node: dict) -> str:
    parts = []
    if "enum" in node:
        parts.append(" / ".join(f"`{v}`" for v in node["enum"]))
    for key, sym in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")):
        if key in node:
            parts.append(f"{sym} {node[key]}")
    items = node.get("items") if isinstance(node.get("items"), dict) else {}
    for key, sym in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<=")):
        if key in items:
            parts.append(f"each {sym} {items[key]}")
    if "pattern" in node:
        parts.append(f"pattern `{node['pattern']}`")
    return ", ".join(parts)


def cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def rows(node: dict, root: dict, path: str, out: list[tuple[str, str, str, str, str]]) -> None:
    """Depth-first rows for every property under `node` (a resolved object schema)."""
    for key, child in node.get("properties", {}).items():
        child = resolve(child, root)
        name = f"{path}.{key}" if path else key
        default = json.dumps(child["default"]) if "default" in child else ("required" if key in node.get("required", []) else "")
        out.append((name, type_text(child), default, allowed_text(child), child.get("description", "")))
        if child.get("properties"):
            rows(child, root, name, out)
        extra = child.get("additionalProperties")
        if isinstance(extra, dict):
            entry = resolve(extra, root)
            out.append((f"{name}.<name>", "object", "", "", entry.get("description", "")))
            rows(entry, root, f"{name}.<name>", out)


def render() -> str:
    root = load("config.schema.yaml")
    lines = ["# Configuration guide", "",
             "Generated from `workflow/schemas/*.schema.yaml` by `make docs` (do not edit by hand). Every key below is",
             "validated when the workflow starts: an unknown key, a wrong type or a value out of range stops it and",
             "names the key. Defaults are filled in; `results/pipeline_info/config.yaml` holds the resolved config",
             "of a run.", ""]
    for key, block in root["properties"].items():
        block = resolve(block, root)
        lines += [f"## `{key}`", "", cell(block.get("description", "")), ""]
        table: list[tuple[str, str, str, str, str]] = []
        if block.get("properties") or isinstance(block.get("additionalProperties"), dict):
            rows({"properties": {key: block}}, root, "", table)
            table = table[1:]  # the block's own row: its description is the section text
        if not table:
            table = [(key, type_text(block), json.dumps(block["default"]) if "default" in block else "",
                      allowed_text(block), "")]
        lines += ["| key | type | default | allowed | description |", "|---|---|---|---|---|"]
        lines += [f"| `{name}` | {cell(t)} | {cell(d)} | {cell(a)} | {cell(desc)} |" for name, t, d, a, desc in table]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
