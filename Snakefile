# stronglens: a strong-lens finder workflow (see README.md).
# Thin on purpose: config + validation, includes, and the `all` target.
# Imports here are stdlib-only, so a dry run costs Snakemake's own floor.
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")

sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from stronglens.config.validation import check_config, resolve_runs  # noqa: E402  (stdlib only)


# The embedded default, unless the user names their own with --configfile.
if not config:

    configfile: "config/config.yaml"



validate(config, "workflow/schemas/config.schema.yaml")
check_config(config)

# Each run's resolved config: its keys + the training block with its own overrides.
RUNS = resolve_runs(config, lambda train: validate(train, "workflow/schemas/training.schema.yaml"))


report: "workflow/report/workflow.rst"


scattergather:
    selection=config["selection"]["n_shards"],


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/checks.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/gates.smk"
include: "workflow/rules/selection.smk"
include: "workflow/rules/realism.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/audit.smk"


rule all:
    default_target: True
    input:
        all_targets(),
