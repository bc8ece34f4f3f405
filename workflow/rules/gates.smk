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
    """Paired DeLong test of two runs' AUROCs on the same evaluation samples, and their settings' diff."""
    input:
        a=path("gates", run="{a}"),
        b=path("gates", run="{b}"),
        scores_a=path("scores", run="{a}"),
        scores_b=path("scores", run="{b}"),
        info_a=path("run", run="{a}", file="run_info.json"),
        info_b=path("run", run="{b}", file="run_info.json"),
    output:
        path("compare"),
    params:
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
        " --b {input.b:q} {input.scores_b:q} {input.info_b:q} --code-hash {params.code} --out {output:q} > {log:q} 2>&1"
