# Training: one GPU job per entry of config.runs.


rule train:
    """Train (or resume from the undeclared last.pt) one run on its preprocessed arrays."""
    input:
        train_inputs,
    output:
        **{name.split(".")[0]: f"{RESULTS}/runs/{{run}}/{name}" for name in RUN_OUTPUTS},
    params:
        run=lambda wc: as_json(science_run(RUNS[wc.run])),
        data=lambda wc: run_folder(wc.run),
        paired=paired_arg,
        outdir=lambda wc: f"{RESULTS}/runs/{wc.run}",
        code=code("train"),
    wildcard_constraints:
        run=RUN_PATTERN,
    threads: lambda wc: execution_of(RUNS[wc.run])["threads"]
    # Execution settings (not science, never a rerun trigger): defaults from the run's training block,
    # overridden by --set-threads / --set-resources and the profiles.
    resources:
        gpu=1,
        torch_device=lambda wc: execution_of(RUNS[wc.run])["device"],
        loader_workers=lambda wc: execution_of(RUNS[wc.run])["num_workers"],
        pin_memory=lambda wc: int(execution_of(RUNS[wc.run])["pin_memory"]),
        eval_batch=lambda wc: execution_of(RUNS[wc.run])["eval_batch"],
        channels_last=lambda wc: int(execution_of(RUNS[wc.run])["channels_last"]),
    log:
        f"{RESULTS}/logs/train/{{run}}.log",
    conda:
        "../envs/stronglens.yaml"
    benchmark:
        f"{RESULTS}/benchmarks/train/{{run}}.tsv"
    shell:
        "python -m stronglens.stages.train --run {params.run:q} --data {params.data:q} {params.paired}"
        " --outdir {params.outdir:q} --code-hash {params.code} --threads {threads} --device {resources.torch_device}"
        " --workers {resources.loader_workers} --pin-memory {resources.pin_memory} --eval-batch {resources.eval_batch}"
        " --channels-last {resources.channels_last} > {log:q} 2>&1"
