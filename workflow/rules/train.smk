# Training: one GPU job per entry of config.runs.


localrules:
    run_settings,


rule run_settings:
    """A run's science settings as a small JSON file (the train stage's --run); params keep change detection."""
    output:
        path("run_settings"),
    params:
        run=lambda wc: as_json(science_run(RUNS[wc.run])),
    wildcard_constraints:
        run=RUN_PATTERN,
    log:
        job_log("run_settings", "{run}"),
    run:
        Path(output[0]).write_text(f"{params.run}\n")
        Path(log[0]).write_text(f"wrote {output[0]}\n")


rule train:
    """Train (or resume from the undeclared last.pt) one run on its preprocessed arrays."""
    input:
        arrays=train_inputs,
        settings=path("run_settings"),
    output:
        **{name: path("run", file=file) for name, file in RUN_OUTPUTS.items()},
    params:
        run=lambda wc: as_json(science_run(RUNS[wc.run])),
        data=lambda wc: run_folder(wc.run),
        paired=paired_arg,
        out=out_args,
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
        job_log("train", "{run}"),
    conda:
        "../envs/stronglens.yaml"
    benchmark:
        job_benchmark("train", "{run}")
    shell:
        "python -m stronglens.stages.train --run {input.settings:q} --data {params.data:q} {params.paired}"
        " --out {params.out} --code-hash {params.code} --threads {threads} --device {resources.torch_device}"
        " --workers {resources.loader_workers} --pin-memory {resources.pin_memory} --eval-batch {resources.eval_batch}"
        " --channels-last {resources.channels_last} > {log:q} 2>&1"
