# Injection-recovery selection function: scatter the grid over shards, gather the tables.


rule selection_shard:
    """Inject, preprocess like the run's training data, and score one shard of the grid (all variants)."""
    input:
        unpack(selection_inputs),
    output:
        path("selection_shard"),
    params:
        selection=as_json(selection_cfg(SELECTION_SHARD_KEYS)),
        psf=lambda wc: as_json(selection_psf(wc)),
        preprocessing=lambda wc: as_json(run_preprocessing(wc.run)),
        stamp=lambda wc: dataset_cfg(RUNS[wc.run]["dataset"])["stamp_size"],
        seed=config["seed"],
        manifest=lambda wc, input: f"--manifest {shlex.quote(input.manifest)}" if "manifest" in input.keys() else "",
        library=library_arg,
        code=code("selection_shard"),
    wildcard_constraints:
        run=RUN_PATTERN,
    threads: 2
    resources:
        gpu=1,
        torch_device=config["selection"]["device"],
        score_batch=config["selection"]["batch"],
    log:
        job_log("selection", "{run}/shard-{scatteritem}"),
    conda:
        "../envs/stronglens.yaml"
    benchmark:
        job_benchmark("selection_shard", "{run}-{scatteritem}")
    shell:
        "python -m stronglens.stages.selection_shard --checkpoint {input.checkpoint:q} --preprocessing {params.preprocessing:q}"
        " --stamp {params.stamp} --selection {params.selection:q} --shard {wildcards.scatteritem} --seed {params.seed}"
        " --psf {params.psf:q} --device {resources.torch_device} --batch {resources.score_batch}"
        " {params.manifest} {params.library}"
        " --code-hash {params.code} --out {output:q} > {log:q} 2>&1"


rule selection_gather:
    """Thresholds from the clean hosts, completeness with Jeffreys intervals, marginals, sensitivity, summary (with the
    realism gap: the run's recall on its tier A lenses beside each source model's completeness)."""
    input:
        shards=lambda wc: gather.selection(path("selection_shard"), run=wc.run),
        scores=path("scores"),
    output:
        injections=path("selection", file="injections.parquet"),
        completeness=path("selection", file="completeness.parquet"),
        sensitivity=path("selection", file="sensitivity.parquet"),
        summary=path("selection", file="summary.json"),
    params:
        selection=as_json(selection_cfg(SELECTION_GATHER_KEYS)),
        split=config["gates"]["eval_split"],
        dataset=lambda wc: RUNS[wc.run]["dataset"],
        source=lambda wc: dataset_cfg(RUNS[wc.run]["dataset"])["source"],
        out=out_args,
        code=code("selection_gather"),
    wildcard_constraints:
        run=RUN_PATTERN,
    log:
        job_log("selection", "{run}/gather"),
    conda:
        "../envs/stronglens.yaml"
    shell:
        "python -m stronglens.stages.selection_gather --shards {input.shards:q} --selection {params.selection:q}"
        " --scores {input.scores:q} --eval-split {params.split} --dataset {params.dataset} --dataset-source {params.source}"
        " --code-hash {params.code} --out {params.out} > {log:q} 2>&1"
