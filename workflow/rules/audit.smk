# Audit: what ran, with what. `make audit` adds the rule graph and job DAG (SVG via graphviz, and mermaid).


rule pipeline_info:
    """Config snapshot (defaults filled in), package versions, git commit, Snakemake and Python versions."""
    output:
        config=path("pipeline_info", file="config.yaml"),
        software=report(
            path("pipeline_info", file="software.json"),
            caption="../report/pipeline_info.rst",
            category="5. Provenance",
            labels={"figure": "software and commit"},
        ),
    params:
        config=as_json(science_config(config)),
        repo=workflow.basedir,
        code=code("pipeline_info"),
    log:
        job_log("pipeline_info"),
    benchmark:
        job_benchmark("pipeline_info")
    conda:
        "../envs/stronglens.yaml"
    shell:
        "python -m stronglens.stages.pipeline_info --config {params.config:q} --repo {params.repo:q}"
        " --out-config {output.config:q} --out-software {output.software:q} --code-hash {params.code} > {log:q} 2>&1"
