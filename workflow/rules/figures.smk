# Figures (PNG for the report, PDF for papers) and the tables the HTML report shows.
# snakemake --report results/report.html collects every output marked report() below.

rule figures_sources:
    """The real-galaxy source library (stamps per subset, sizes, shapes) and the stand-in sky's stamps by group."""
    input:
        library=path("source_library"),
        sky=lambda wc: [path("shard", dataset=d, part=0) for d in sky_datasets()[:1]],
    output:
        **{name: report(path("sources_figure", file=f"{name}.png"), caption=f"{CAPTIONS}/sources_{name}.rst",
                        category="1. Overview", labels={"figure": f"sources {name}"}) for name in ("library", "sky")},
        library_pdf=path("sources_figure", file="library.pdf"),
        sky_pdf=path("sources_figure", file="sky.pdf"),
    params:
        figures=as_json(config["figures"]),
        sky=lambda wc, input: f"--sky-shard {shlex.quote(input.sky[0])}" if input.sky else "",
        out=out_args,
        code=code("figures_sources"),
    log:
        job_log("figures_sources"),
    benchmark:
        job_benchmark("figures_sources")
    conda:
        "../envs/stronglens.yaml"
    shell:
        "python -m stronglens.stages.figures_sources --library {input.library:q} {params.sky}"
        " --figures {params.figures:q} --code-hash {params.code} --out {params.out} > {log:q} 2>&1"


rule figures_run:
    """Training curves, ROC, gate summary, AUROC per theta_E bin, core sensitivity, example gallery; gate table."""
    input:
        history=path("run", file="history.csv"),
        gate_history=path("run", file="gate_history.csv"),
        gates=path("gates"),
        scores=path("scores"),
        paired=figures_paired_inputs,
    output:
        **figure_outputs(RUN_FIGURES, "2. Runs"),
        table=report(
            path("figure", file="gates.html"),
            caption=f"{CAPTIONS}/gates_table.rst",
            category="2. Runs",
            subcategory="{run}",
            labels={"run": "{run}", "figure": "gate table"},
        ),
    params:
        figures=as_json(config["figures"]),
        gates=as_json(gates_science()),
        clip=lambda wc: as_json(RUNS[wc.run]["clip"]),
        paired=eval_paired_arg,
        seed=config["seed"],
        out=out_args,
        code=code("figures_run"),
    wildcard_constraints:
        run=RUN_PATTERN,
    log:
        job_log("figures", "{run}"),
    benchmark:
        job_benchmark("figures", "{run}")
    conda:
        "../envs/stronglens.yaml"
    shell:
        "python -m stronglens.stages.figures_run --run {wildcards.run} --history {input.history:q}"
        " --gate-history {input.gate_history:q} --gates {input.gates:q}"
        " --scores {input.scores:q} {params.paired} --figures {params.figures:q} --gates-config {params.gates:q}"
        " --clip {params.clip:q} --seed {params.seed} --code-hash {params.code} --out {params.out} > {log:q} 2>&1"


rule figures_selection:
    """Completeness heatmaps (theta_E x PSF per depth), marginals with intervals, sensitivity tornado, injected arcs."""
    input:
        completeness=path("selection", file="completeness.parquet"),
        sensitivity=path("selection", file="sensitivity.parquet"),
        injections=path("selection", file="injections.parquet"),
        summary=path("selection", file="summary.json"),
    output:
        **figure_outputs(SELECTION_FIGURES, "3. Selection function"),
    params:
        selection=as_json(selection_cfg(SELECTION_FIGURE_KEYS)),
        preprocessing=lambda wc: as_json(run_preprocessing(wc.run)),
        stamp=lambda wc: dataset_cfg(RUNS[wc.run]["dataset"])["stamp_size"],
        figures=as_json(config["figures"]),
        seed=config["seed"],
        indir=lambda wc: os.path.dirname(path("selection", run=wc.run, file="summary.json")),
        out=out_args,
        code=code("figures_selection"),
    wildcard_constraints:
        run=RUN_PATTERN,
    log:
        job_log("figures", "{run}-selection"),
    benchmark:
        job_benchmark("figures", "{run}-selection")
    conda:
        "../envs/stronglens.yaml"
    shell:
        "python -m stronglens.stages.figures_selection --run {wildcards.run} --selection-dir {params.indir:q}"
        " --selection {params.selection:q} --preprocessing {params.preprocessing:q} --stamp {params.stamp}"
        " --figures {params.figures:q} --seed {params.seed} --code-hash {params.code} --out {params.out} > {log:q} 2>&1"


rule figures_realism:
    """Anchor gallery and Table 4, UMAP and PCA of the penultimate embeddings, ceiling / FD / arc statistics / D01."""
    input:
        report=path("realism"),
        arrays=path("realism_arrays"),
    output:
        **figure_outputs(REALISM_FIGURES, "4. Realism audit"),
    params:
        figures=as_json(config["figures"]),
        seed=config["seed"],
        out=out_args,
        code=code("figures_realism"),
    wildcard_constraints:
        run=RUN_PATTERN,
    log:
        job_log("figures", "{run}-realism"),
    benchmark:
        job_benchmark("figures", "{run}-realism")
    conda:
        "../envs/stronglens.yaml"
    shell:
        "python -m stronglens.stages.figures_realism --run {wildcards.run} --report {input.report:q}"
        " --arrays {input.arrays:q} --figures {params.figures:q} --seed {params.seed}"
        " --code-hash {params.code} --out {params.out} > {log:q} 2>&1"


rule figures_compare:
    """Every run side by side (AUROC, shortcut figures, gate statuses) and the experiments table as HTML."""
    input:
        reports=expand(path("gates"), run=list(RUNS)),
        experiments=path("experiments"),
    output:
        runs=report(
            path("overview", file="runs.png"),
            caption=f"{CAPTIONS}/runs.rst",
            category="1. Overview",
            labels={"figure": "all runs compared"},
        ),
        runs_pdf=path("overview", file="runs.pdf"),
        table=report(
            path("overview", file="experiments.html"),
            caption=f"{CAPTIONS}/experiments.rst",
            category="1. Overview",
            labels={"figure": "experiments table"},
        ),
    params:
        figures=as_json(config["figures"]),
        out=out_args,
        code=code("figures_compare"),
    log:
        job_log("figures", "compare"),
    benchmark:
        job_benchmark("figures", "compare")
    conda:
        "../envs/stronglens.yaml"
    shell:
        "python -m stronglens.stages.figures_compare --reports {input.reports:q} --experiments {input.experiments:q}"
        " --figures {params.figures:q} --code-hash {params.code} --out {params.out} > {log:q} 2>&1"
