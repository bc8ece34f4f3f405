# Training: one GPU job per entry of config.runs.


rule train:
    """Train (or resume from the undeclared last.pt) one run on its preprocessed arrays."""
    input:
        train_inputs,
    output:
        **{name.split(".")[0]: f"{RESULTS}/runs/{{run}}/{name}" for name in RUN_OUTPUTS},
    params:
        run=lambda wc: as_json(RUNS[wc.run]),
        data=lambda wc: run_folder(wc.run),
        paired=paired_arg,
        outdir=lambda wc: f"{RESULTS}/runs/{wc.run}",
        code=code("train"),
    wildcard_constraints:
        run=RUN_PATTERN,
    threads: lambda wc: RUNS[wc.run]["train"]["threads"]
    resources:
        gpu=1,
    log:
        f"{RESULTS}/logs/train/{{run}}.log",
    conda:
        "../envs/stronglens.yaml"
    benchmark:
        f"{RESULTS}/benchmarks/train/{{run}}.tsv"
    shell:
        "python -m stronglens.stages.train --run {params.run:q} --data {params.data:q} {params.paired}"
        " --outdir {params.outdir:q} --code-hash {params.code} > {log:q} 2>&1"
