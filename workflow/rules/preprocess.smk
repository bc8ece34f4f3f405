# Preprocessing (arrays once, memory-mapped later) and the model-free data gates.


rule preprocess:
    """Normalised float32 arrays per split + index parquet; runs only after both checks passed."""
    input:
        manifest=f"{RESULTS}/data/{{dataset}}/manifest-{{pairing}}.parquet",
        splits_ok=f"{RESULTS}/checks/{{dataset}}/splits.json",
        pairs_ok=f"{RESULTS}/checks/{{dataset}}/pairs.json",
        shards=shard_paths,
    output:
        **split_outputs(f"{RESULTS}/data/{{dataset}}/{{pairing}}/{{mode}}"),
    params:
        cfg=lambda wc: as_json(config["preprocessing"][wc.mode]),
        stamp=lambda wc: dataset_cfg(wc.dataset)["stamp_size"],
        out=out_args,
        code=code("preprocess"),
    log:
        f"{RESULTS}/logs/preprocess/{{dataset}}-{{pairing}}-{{mode}}.log",
    conda:
        "../envs/stronglens.yaml"
    benchmark:
        f"{RESULTS}/benchmarks/preprocess/{{dataset}}-{{pairing}}-{{mode}}.tsv"
    shell:
        "python -m stronglens.stages.preprocess --manifest {input.manifest:q} --config {params.cfg:q}"
        " --stamp-size {params.stamp} --code-hash {params.code} --out {params.out} > {log:q} 2>&1"


rule data_gates:
    """Core, radial and annulus LR AUCs on the model inputs, paired and unpaired, before any training."""
    input:
        arrays=gate_inputs("npy"),
        index=gate_inputs("index.parquet"),
    output:
        f"{RESULTS}/gates/data/{{dataset}}-{{mode}}.json",
    params:
        cfg=as_json(config["data_gates"]),
        thresholds=as_json(data_gate_thresholds()),
        clip=lambda wc: as_json(config["preprocessing"][wc.mode]["clip"]),
        inputs=gate_folders,
        splits=" ".join(SPLITS),
        seed=config["seed"],
        code=code("data_gates"),
    log:
        f"{RESULTS}/logs/data_gates/{{dataset}}-{{mode}}.log",
    conda:
        "../envs/stronglens.yaml"
    benchmark:
        f"{RESULTS}/benchmarks/data_gates/{{dataset}}-{{mode}}.tsv"
    shell:
        "python -m stronglens.stages.data_gates --config {params.cfg:q} --thresholds {params.thresholds:q}"
        " --clip {params.clip:q} --seed {params.seed}"
        " {params.inputs} --splits {params.splits} --code-hash {params.code} --out {output:q} > {log:q} 2>&1"
