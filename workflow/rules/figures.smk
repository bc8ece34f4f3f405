# Figures (PNG for the report, PDF for papers) and the tables the HTML report shows.
# snakemake --report results/report.html collects every output marked report() below.

rule figures_run:
    """Training curves, ROC, gate summary, AUROC per theta_E bin, core sensitivity, example gallery; gate table."""
    input:
        history=f"{RESULTS}/runs/{{run}}/history.csv",
        gates=f"{RESULTS}/gates/{{run}}.json",
        scores=f"{RESULTS}/gates/{{run}}.scores.parquet",
        paired=figures_paired_inputs,
    output:
        **figure_outputs(RUN_FIGURES, "2. Runs"),
        table=report(
            f"{RESULTS}/figures/{{run}}/gates.html",
            caption=f"{CAPTIONS}/gates_table.rst",
            category="2. Runs",
            subcategory="{run}",
            labels={"run": "{run}", "figure": "gate table"},
        ),
    params:
        figures=as_json(config["figures"]),
        gates=as_json(gates_science()),
        clip=lambda wc: as_json(RUNS[wc.run]["clip"]),
        paired=figures_paired_arg,
        seed=config["seed"],
        out=out_args,
        code=code("figures_run"),
    wildcard_constraints:
        run=RUN_PATTERN,
    log:
        f"{RESULTS}/logs/figures/{{run}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/figures/{{run}}.tsv"
    conda:
        "../envs/stronglens.yaml"
    shell:
        "python -m stronglens.stages.figures_run --run {wildcards.run} --history {input.history:q} --gates {input.gates:q}"
        " --scores {input.scores:q} {params.paired} --figures {params.figures:q} --gates-config {params.gates:q}"
        " --clip {params.clip:q} --seed {params.seed} --code-hash {params.code} --out {params.out} > {log:q} 2>&1"


rule figures_selection:
    """Completeness heatmaps (theta_E x PSF per depth), marginals with intervals, sensitivity tornado, injected arcs."""
    input:
        completeness=f"{RESULTS}/selection/{{run}}/completeness.parquet",
        sensitivity=f"{RESULTS}/selection/{{run}}/sensitivity.parquet",
        injections=f"{RESULTS}/selection/{{run}}/injections.parquet",
    output:
        **figure_outputs(SELECTION_FIGURES, "3. Selection function"),
    params:
        selection=as_json(selection_cfg(SELECTION_FIGURE_KEYS)),
        preprocessing=lambda wc: as_json(run_preprocessing(wc.run)),
        stamp=lambda wc: dataset_cfg(RUNS[wc.run]["dataset"])["stamp_size"],
        figures=as_json(config["figures"]),
        seed=config["seed"],
        indir=lambda wc: f"{RESULTS}/selection/{wc.run}",
        out=out_args,
        code=code("figures_selection"),
    wildcard_constraints:
        run=RUN_PATTERN,
    log:
        f"{RESULTS}/logs/figures/{{run}}-selection.log",
    benchmark:
        f"{RESULTS}/benchmarks/figures/{{run}}-selection.tsv"
    conda:
        "../envs/stronglens.yaml"
    shell:
        "python -m stronglens.stages.figures_selection --run {wildcards.run} --selection-dir {params.indir:q}"
        " --selection {params.selection:q} --preprocessing {params.preprocessing:q} --stamp {params.stamp}"
        " --figures {params.figures:q} --seed {params.seed} --code-hash {params.code} --out {params.out} > {log:q} 2>&1"


rule figures_compare:
    """Every run side by side (AUROC, shortcut figures, gate statuses) and the experiments table as HTML."""
    input:
        reports=expand(f"{RESULTS}/gates/{{run}}.json", run=list(RUNS)),
        experiments=f"{RESULTS}/experiments.tsv",
    output:
        runs=report(
            f"{RESULTS}/figures/runs.png",
            caption=f"{CAPTIONS}/runs.rst",
            category="1. Overview",
            labels={"figure": "all runs compared"},
        ),
        runs_pdf=f"{RESULTS}/figures/runs.pdf",
        table=report(
            f"{RESULTS}/figures/experiments.html",
            caption=f"{CAPTIONS}/experiments.rst",
            category="1. Overview",
            labels={"figure": "experiments table"},
        ),
    params:
        figures=as_json(config["figures"]),
        out=out_args,
        code=code("figures_compare"),
    log:
        f"{RESULTS}/logs/figures/compare.log",
    benchmark:
        f"{RESULTS}/benchmarks/figures/compare.tsv"
    conda:
        "../envs/stronglens.yaml"
    shell:
        "python -m stronglens.stages.figures_compare --reports {input.reports:q} --experiments {input.experiments:q}"
        " --figures {params.figures:q} --code-hash {params.code} --out {params.out} > {log:q} 2>&1"
