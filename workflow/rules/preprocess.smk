# Preprocessing (arrays once, memory-mapped later) and the model-free data gates.


rule preprocess:
    """Normalised float32 arrays per split + index parquet; runs only after both checks passed."""
    input:
        manifest=path("manifest"),
        splits_ok=path("check", check="splits"),
        pairs_ok=path("check", check="pairs"),
        shards=shard_paths,
    output:
        **split_outputs(),
    params:
        cfg=lambda wc: as_json(config["preprocessing"][wc.mode]),
        stamp=lambda wc: dataset_cfg(wc.dataset)["stamp_size"],
        out=out_args,
        code=code("preprocess"),
    log:
        job_log("preprocess", "{dataset}-{pairing}-{mode}"),
    conda:
        "../envs/stronglens.yaml"
    benchmark:
        job_benchmark("preprocess", "{dataset}-{pairing}-{mode}")
    shell:
        "python -m stronglens.stages.preprocess --manifest {input.manifest:q} --config {params.cfg:q}"
        " --stamp-size {params.stamp} --code-hash {params.code} --out {params.out} > {log:q} 2>&1"


rule data_gates:
    """Core, radial and annulus LR AUCs on the model inputs, paired and unpaired, before any training."""
    input:
        arrays=gate_inputs("npy"),
        index=gate_inputs("index.parquet"),
        profiles=gate_inputs("profile.npy"),
    output:
        path("data_gates"),
    params:
        cfg=as_json(config["data_gates"]),
        thresholds=as_json(data_gate_thresholds()),
        clip=lambda wc: as_json(config["preprocessing"][wc.mode]["clip"]),
        inputs=gate_folders,
        splits=" ".join(SPLITS),
        seed=config["seed"],
        code=code("data_gates"),
    log:
        job_log("data_gates", "{dataset}-{mode}"),
    conda:
        "../envs/stronglens.yaml"
    benchmark:
        job_benchmark("data_gates", "{dataset}-{mode}")
    shell:
        "python -m stronglens.stages.data_gates --config {params.cfg:q} --thresholds {params.thresholds:q}"
        " --clip {params.clip:q} --seed {params.seed}"
        " {params.inputs} --splits {params.splits} --code-hash {params.code} --out {output:q} > {log:q} 2>&1"
