# Manifests and the integrity checks that gate everything downstream.


rule build_manifest:
    """Paired and unpaired manifests: one row per sample, spatial splits, tiers, weights."""
    input:
        shard_paths,
    output:
        paired=path("manifest", pairing="paired"),
        unpaired=path("manifest", pairing="unpaired"),
    params:
        cfg=lambda wc: as_json(manifest_cfg(wc.dataset)),
        seed=config["seed"],
        code=code("build_manifest"),
    log:
        job_log("build_manifest", "{dataset}"),
    conda:
        "../envs/stronglens.yaml"
    benchmark:
        job_benchmark("build_manifest", "{dataset}")
    shell:
        "python -m stronglens.stages.build_manifest --config {params.cfg:q} --seed {params.seed}"
        " --code-hash {params.code} --paired {output.paired:q} --unpaired {output.unpaired:q} {input:q} > {log:q} 2>&1"


rule check_splits:
    """Split overlaps of bricks, HEALPix cells and hosts, and missing coordinates: all must be 0."""
    input:
        rules.build_manifest.output.paired,
        rules.build_manifest.output.unpaired,
    output:
        path("check", check="splits"),
    params:
        code=code("check_splits"),
    log:
        job_log("check_splits", "{dataset}"),
    conda:
        "../envs/stronglens.yaml"
    benchmark:
        job_benchmark("check_splits", "{dataset}")
    shell:
        "python -m stronglens.stages.check_splits --out {output:q} {input:q} > {log:q} 2>&1"


rule check_pairs:
    """shape_match, not_identical, no_nan_inf, value_range, expected_shape on every pair (or a sample)."""
    input:
        manifest=check_manifest,
        shards=shard_paths,
    output:
        path("check", check="pairs"),
    params:
        sample=lambda wc: dataset_cfg(wc.dataset)["check_pairs_sample"] or "all",
        stamp=lambda wc: dataset_cfg(wc.dataset)["stamp_size"],
        max_abs=lambda wc: dataset_cfg(wc.dataset)["max_abs_nmgy"],
        seed=config["seed"],
        code=code("check_pairs"),
    log:
        job_log("check_pairs", "{dataset}"),
    conda:
        "../envs/stronglens.yaml"
    benchmark:
        job_benchmark("check_pairs", "{dataset}")
    shell:
        "python -m stronglens.stages.check_pairs --manifest {input.manifest:q} --sample {params.sample}"
        " --seed {params.seed} --stamp-size {params.stamp} --max-abs {params.max_abs} --out {output:q} > {log:q} 2>&1"
