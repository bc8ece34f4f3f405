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
        pretrained=pretrained_arg,
        out=out_args,
        code=code("train"),
    wildcard_constraints:
        run=TRAINED_PATTERN,
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
        "python -m stronglens.stages.train --run {input.settings:q} --data {params.data:q} {params.paired} {params.pretrained}"
        " --out {params.out} --code-hash {params.code} --threads {threads} --device {resources.torch_device}"
        " --workers {resources.loader_workers} --pin-memory {resources.pin_memory} --eval-batch {resources.eval_batch}"
        " --channels-last {resources.channels_last} > {log:q} 2>&1"


rule ensemble:
    """Combine member runs' best.pt into one scorer (mean p, or a logistic meta-learner fitted on val)."""
    input:
        members=ensemble_members,
        settings=path("run_settings"),
        arrays=lambda wc: split_files(run_folder(wc.run), ("val",)),
    output:
        **{name: path("run", file=file) for name, file in RUN_OUTPUTS.items()},
    params:
        data=lambda wc: run_folder(wc.run),
        out=out_args,
        code=code("build_ensemble"),
    wildcard_constraints:
        run=ENSEMBLE_PATTERN,
    threads: 2
    resources:
        gpu=1,
        torch_device=config["gates"]["device"],
        score_batch=config["gates"]["batch"],
    log:
        job_log("ensemble", "{run}"),
    conda:
        "../envs/stronglens.yaml"
    benchmark:
        job_benchmark("ensemble", "{run}")
    shell:
        "python -m stronglens.stages.build_ensemble --run {input.settings:q} --members {input.members:q}"
        " --data {params.data:q} --device {resources.torch_device} --batch {resources.score_batch}"
        " --out {params.out} --code-hash {params.code} > {log:q} 2>&1"
