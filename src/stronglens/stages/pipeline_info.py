"""Rule pipeline_info: the audit record of a workflow run -> results/pipeline_info/{config.yaml,software.json}.

python -m stronglens.stages.pipeline_info --config '<resolved config JSON>' --repo . \
    --out-config results/pipeline_info/config.yaml --out-software results/pipeline_info/software.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import yaml

from stronglens.core.provenance import config_sha256, git_commit, package_versions
from stronglens.figures.style import write_text
from stronglens.storage.artifacts import write_json

EXTRA_PACKAGES = ("torchvision", "scikit-learn", "matplotlib", "PyYAML", "snakemake-executor-plugin-slurm",
                  "snakemake-storage-plugin-s3")


def software_record(cfg: dict, repo: Path) -> dict:
    versions = package_versions()
    for name in EXTRA_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "written_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(repo),
        "config_sha256": config_sha256(cfg),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": dict(sorted(versions.items())),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--out-config", required=True)
    ap.add_argument("--out-software", required=True)
    ap.add_argument("--code-hash", default=None)
    args = ap.parse_args(argv)
    cfg = json.loads(args.config)
    header = (f"# The resolved science configuration of this workflow run (defaults filled in; execution settings\n"
              f"# such as threads and loader workers are per job, in each run_info.json); sha256 {config_sha256(cfg)}\n")
    write_text(header + yaml.safe_dump(cfg, sort_keys=True), args.out_config)
    write_json(software_record(cfg, Path(args.repo)), args.out_software)
    print(f"pipeline info -> {args.out_config}, {args.out_software}")


if __name__ == "__main__":
    main()
