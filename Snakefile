# stronglens: a strong-lens finder workflow (see README.md).
# Thin on purpose: config + validation, includes, and the `all` target.
# Imports here are stdlib-only, so a dry run costs Snakemake's own floor.
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")

sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from snakemake.exceptions import WorkflowError  # noqa: E402

from stronglens.configcheck import ConfigError, check_config, check_runs, resolve_run  # noqa: E402  (stdlib only)


# The embedded default, unless the user names their own with --configfile.
if not config:

    configfile: "config/config.yaml"



validate(config, "workflow/schemas/config.schema.yaml")
check_config(config)

# Each run's resolved config: its keys + the training block with its overrides.
RUNS = {name: resolve_run(config, name) for name in config["runs"]}
for _name, _run in RUNS.items():
    try:
        validate(_run["train"], "workflow/schemas/training.schema.yaml")
    except WorkflowError as err:
        raise ConfigError(f"runs.{_name}.train: {err}") from None
check_runs(config, RUNS)


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/checks.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/train.smk"


rule all:
    default_target: True
    input:
        all_targets(),
