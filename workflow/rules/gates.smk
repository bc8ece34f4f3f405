# Shortcut gates of every trained run, the experiments table, and run-vs-run comparisons.


rule gates:
    """Model gates + data gates on the run's evaluation split; verdict and provenance."""
    input:
        checkpoint=path("run", file="best.pt"),
        arrays=gates_inputs,
    output:
        report=path("gates"),
        scores=path("scores"),
    params:
        cfg=as_json(gates_science()),
        data_gates=as_json(config["data_gates"]),
        clip=lambda wc: as_json(RUNS[wc.run]["clip"]),
        data=lambda wc: run_folder(wc.run),
        paired=eval_paired_arg,
        seed=config["seed"],
        out=out_args,
        code=code("gates"),
    wildcard_constraints:
        run=RUN_PATTERN,
    threads: 2
    # Execution settings (never a rerun trigger): --set-resources gates:score_batch=1024 etc.
    resources:
        gpu=1,
        torch_device=config["gates"]["device"],
        score_batch=config["gates"]["batch"],
    log:
        job_log("gates", "{run}"),
    conda:
        "../envs/stronglens.yaml"
    benchmark:
        job_benchmark("gates", "{run}")
    shell:
        "python -m stronglens.stages.gates --checkpoint {input.checkpoint:q} --data {params.data:q} {params.paired}"
        " --config {params.cfg:q} --data-gates {params.data_gates:q} --clip {params.clip:q} --seed {params.seed}"
        " --device {resources.torch_device} --batch {resources.score_batch}"
        " --code-hash {params.code} --out {params.out} > {log:q} 2>&1"


rule experiments:
    """Every run's settings and gate figures side by side, and each audited run's threshold sets and GO / NO-GO
    (results/experiments.tsv)."""
    input:
        reports=expand(path("gates"), run=list(RUNS)),
        infos=expand(path("run", file="run_info.json"), run=list(RUNS)),
        realism=expand(path("realism"), run=REALISM_RUNS),
        summaries=expand(path("selection", file="summary.json"), run=[r for r in REALISM_RUNS if r in SELECTION_RUNS]),
    output:
        path("experiments"),
    params:
        threshold_sets=as_json(config["realism"]["threshold_sets"]),
        code=code("experiments"),
    log:
        job_log("experiments"),
    conda:
        "../envs/stronglens.yaml"
    shell:
        "python -m stronglens.stages.experiments --reports {input.reports:q} --infos {input.infos:q} --realism {input.realism:q}"
        " --summaries {input.summaries:q} --threshold-sets {params.threshold_sets:q}"
        " --code-hash {params.code} --out {output:q} > {log:q} 2>&1"


rule compare:
    """DeLong test of two runs' AUROCs (paired on one sample, unpaired across samples), their settings' diff, and
    completeness deltas with intervals when both runs have a selection function."""
    input:
        a=path("gates", run="{a}"),
        b=path("gates", run="{b}"),
        scores_a=path("scores", run="{a}"),
        scores_b=path("scores", run="{b}"),
        info_a=path("run", run="{a}", file="run_info.json"),
        info_b=path("run", run="{b}", file="run_info.json"),
        selection=compare_selection_inputs,
    output:
        path("compare"),
    params:
        selection=lambda wc, input: f"--selection {' '.join(shlex.quote(p) for p in input.selection)}" if input.selection else "",
        code=code("compare"),
    wildcard_constraints:
        a=RUN_PATTERN,
        b=RUN_PATTERN,
    log:
        job_log("compare", "{a}--{b}"),
    conda:
        "../envs/stronglens.yaml"
    shell:
        "python -m stronglens.stages.compare --a {input.a:q} {input.scores_a:q} {input.info_a:q}"
        " --b {input.b:q} {input.scores_b:q} {input.info_b:q} {params.selection} --code-hash {params.code}"
        " --out {output:q} > {log:q} 2>&1"


rule decide:
    """The seeds' decision trees (seed 004 §10 over the matrix, seed 003 §20.2 sequential) -> results/decision.json
    and its report page, every branch with the measured numbers that took it."""
    input:
        reports=expand(path("gates"), run=list(RUNS)),
        realism=expand(path("realism"), run=REALISM_RUNS),
        selection=decision_selection_inputs,
    output:
        decision=path("decision"),
        page=report(
            path("overview", file="decision.html"),
            caption=f"{CAPTIONS}/decision.rst",
            category="1. Overview",
            labels={"table": "decision trees"},
        ),
    params:
        cfg=as_json(config["decisions"]),
        realism=lambda wc, input: f"--realism {' '.join(shlex.quote(p) for p in input.realism)}" if input.realism else "",
        selection=lambda wc, input: f"--selection {' '.join(shlex.quote(p) for p in input.selection)}" if input.selection else "",
        out=out_args,
        code=code("decide"),
    log:
        job_log("decide"),
    benchmark:
        job_benchmark("decide")
    conda:
        "../envs/stronglens.yaml"
    shell:
        "python -m stronglens.stages.decide --reports {input.reports:q} {params.realism} {params.selection}"
        " --config {params.cfg:q} --out {params.out} --code-hash {params.code} > {log:q} 2>&1"
