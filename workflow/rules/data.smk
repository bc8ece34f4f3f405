# Data stage: the real-galaxy source library; the embedded synthetic survey and stand-in sky -> shards -> a
# per-dataset summary.


wildcard_constraints:
    dataset="[A-Za-z0-9_]+",
    part="[0-9]+",
    pairing="paired|unpaired",
    mode="[A-Za-z0-9_]+",


rule build_source_library:
    """The HST deep field scikit-image ships, segmented (photutils) into real-galaxy stamps, split sky / injection."""
    output:
        path("source_library"),
    params:
        cfg=as_json(sources_cfg()),
        seed=config["seed"],
        code=code("build_source_library"),
    log:
        job_log("build_source_library"),
    conda:
        "../envs/stronglens.yaml"
    benchmark:
        job_benchmark("build_source_library")
    shell:
        "python -m stronglens.stages.build_source_library --sources {params.cfg:q} --seed {params.seed}"
        " --code-hash {params.code} --out {output:q} > {log:q} 2>&1"


rule simulate_survey:
    """One shard of a synthetic paired survey (seed schema, NPZ blobs per band)."""
    wildcard_constraints:
        dataset=datasets_from("synthetic"),
    input:
        unpack(survey_library),
    output:
        path("shard"),
    params:
        cfg=lambda wc: as_json(survey_cfg(wc.dataset)),
        rows=shard_rows,
        seed=config["seed"],
        library=library_arg,
        code=code("simulate_survey"),
    log:
        job_log("simulate_survey", "{dataset}/part-{part}"),
    conda:
        "../envs/stronglens.yaml"
    benchmark:
        job_benchmark("simulate_survey", "{dataset}/part-{part}")
    shell:
        "python -m stronglens.stages.simulate_survey --dataset {wildcards.dataset:q}"
        " --rows {params.rows} --seed {params.seed} --config {params.cfg:q} {params.library}"
        " --code-hash {params.code} --out {output:q} > {log:q} 2>&1"


rule simulate_sky:
    """One shard of the stand-in sky: unpaired labelled stamps, real-galaxy lenses (tiers A and B), N1 and N2 negatives."""
    wildcard_constraints:
        dataset=datasets_from("sky"),
    input:
        library=path("source_library"),
    output:
        path("shard"),
    params:
        cfg=lambda wc: as_json(sky_cfg(wc.dataset)),
        rows=shard_rows,
        seed=config["seed"],
        code=code("simulate_sky"),
    log:
        job_log("simulate_sky", "{dataset}/part-{part}"),
    conda:
        "../envs/stronglens.yaml"
    benchmark:
        job_benchmark("simulate_sky", "{dataset}/part-{part}")
    shell:
        "python -m stronglens.stages.simulate_sky --dataset {wildcards.dataset:q} --rows {params.rows}"
        " --seed {params.seed} --library {input.library:q} --config {params.cfg:q}"
        " --code-hash {params.code} --out {output:q} > {log:q} 2>&1"


rule ingest_parquet:
    """One of the user's shards in the seeds' paired schema, checked and completed."""
    wildcard_constraints:
        dataset=datasets_from("parquet"),
    input:
        ingest_input,
    output:
        path("shard"),
    params:
        code=code("ingest_parquet"),
    log:
        job_log("ingest_parquet", "{dataset}/part-{part}"),
    conda:
        "../envs/stronglens.yaml"
    benchmark:
        job_benchmark("ingest_parquet", "{dataset}/part-{part}")
    shell:
        "python -m stronglens.stages.ingest_parquet --input {input:q} --code-hash {params.code}"
        " --out {output:q} > {log:q} 2>&1"


rule ingest_cutouts:
    """Rows of a cutout catalog, each cutout read (.npz or FITS), checked and cropped to the stamp."""
    wildcard_constraints:
        dataset=datasets_from("cutouts"),
    input:
        cutout_catalog,
    output:
        path("shard"),
    params:
        rows=shard_rows,
        root=cutout_root_arg,
        stamp=lambda wc: dataset_cfg(wc.dataset)["stamp_size"],
        layout=lambda wc: dataset_cfg(wc.dataset)["layout"],
        code=code("ingest_cutouts"),
    log:
        job_log("ingest_cutouts", "{dataset}/part-{part}"),
    conda:
        "../envs/stronglens.yaml"
    benchmark:
        job_benchmark("ingest_cutouts", "{dataset}/part-{part}")
    shell:
        "python -m stronglens.stages.ingest_cutouts --catalog {input:q} --rows {params.rows} {params.root}"
        " --stamp-size {params.stamp} --layout {params.layout} --code-hash {params.code} --out {output:q} > {log:q} 2>&1"


rule survey_summary:
    """Counts, splits and parameter ranges of a dataset, for the README and the report."""
    input:
        shard_paths,
    output:
        path("survey_summary"),
    params:
        radius=lambda wc: dataset_cfg(wc.dataset)["host_match_arcsec"],
        code=code("survey_summary"),
    log:
        job_log("survey_summary", "{dataset}"),
    conda:
        "../envs/stronglens.yaml"
    benchmark:
        job_benchmark("survey_summary", "{dataset}")
    shell:
        "python -m stronglens.stages.survey_summary --host-match-arcsec {params.radius} --out {output:q} {input:q}"
        " > {log:q} 2>&1"
