# Shortcut gates of every trained run, the experiments table, and run-vs-run comparisons.


rule gates:
    """Model gates + data gates on the run's evaluation split; verdict and provenance."""
    input:
        checkpoint=f"{RESULTS}/runs/{{run}}/best.pt",
        arrays=gates_inputs,
    output:
        report=f"{RESULTS}/gates/{{run}}.json",
        scores=f"{RESULTS}/gates/{{run}}.scores.parquet",
    params:
        cfg=as_json(gates_science()),
        data_gates=as_json(config["data_gates"]),
        clip=lambda wc: as_json(RUNS[wc.run]["clip"]),
        data=lambda wc: run_folder(wc.run),
        paired=gates_paired_arg,
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
        f"{RESULTS}/logs/gates/{{run}}.log",
    conda:
        "../envs/stronglens.yaml"
    benchmark:
        f"{RESULTS}/benchmarks/gates/{{run}}.tsv"
    shell:
        "python -m stronglens.stages.gates --checkpoint {input.checkpoint:q} --data {params.data:q} {params.paired}"
        " --config {params.cfg:q} --data-gates {params.data_gates:q} --clip {params.clip:q} --seed {params.seed}"
        " --device {resources.torch_device} --batch {resources.score_batch}"
        " --code-hash {params.code} --out {params.out} > {log:q} 2>&1"


rule experiments:
    """Every run's settings and gate figures side by side (results/experiments.tsv)."""
    input:
        reports=expand(f"{RESULTS}/gates/{{run}}.json", run=list(RUNS)),
        infos=expand(f"{RESULTS}/runs/{{run}}/run_info.json", run=list(RUNS)),
    output:
        f"{RESULTS}/experiments.tsv",
    params:
        code=code("experiments"),
    log:
        f"{RESULTS}/logs/experiments.log",
    conda:
        "../envs/stronglens.yaml"
    shell:
        "python -m stronglens.stages.experiments --reports {input.reports:q} --infos {input.infos:q}"
        " --code-hash {params.code} --out {output:q} > {log:q} 2>&1"


rule compare:
    """Paired DeLong test of two runs' AUROCs on the same evaluation samples, and their settings' diff."""
    input:
        a=f"{RESULTS}/gates/{{a}}.json",
        b=f"{RESULTS}/gates/{{b}}.json",
        scores_a=f"{RESULTS}/gates/{{a}}.scores.parquet",
        scores_b=f"{RESULTS}/gates/{{b}}.scores.parquet",
        info_a=f"{RESULTS}/runs/{{a}}/run_info.json",
        info_b=f"{RESULTS}/runs/{{b}}/run_info.json",
    output:
        f"{RESULTS}/compare/{{a}}--{{b}}.json",
    params:
        code=code("compare"),
    wildcard_constraints:
        a=RUN_PATTERN,
        b=RUN_PATTERN,
    log:
        f"{RESULTS}/logs/compare/{{a}}--{{b}}.log",
    conda:
        "../envs/stronglens.yaml"
    shell:
        "python -m stronglens.stages.compare --a {input.a:q} {input.scores_a:q} {input.info_a:q}"
        " --b {input.b:q} {input.scores_b:q} {input.info_b:q} --code-hash {params.code} --out {output:q} > {log:q} 2>&1"
