# Realism audit of trained runs: does the finder see injections as real lenses? (docs/realism.md)


rule realism:
    """Recall on the lens catalog, injection-ness probe with null tests, bright-arc ceiling, annulus fragility,
    arc statistics, arc shot noise, and the D01 gates -> results/realism/<run>.json (+ .npz for the figures)."""
    input:
        unpack(realism_inputs),
    output:
        report=path("realism"),
        arrays=path("realism_arrays"),
    params:
        cfg=as_json(realism_cfg()),
        catalog=as_json(catalog_cfg()) if REALISM_RUNS else "",
        preprocessing=lambda wc: as_json(run_preprocessing(wc.run)),
        library=library_arg,
        seed=config["seed"],
        out=out_args,
        code=code("realism_audit"),
    wildcard_constraints:
        run=RUN_PATTERN,
    threads: 2
    # Execution settings (never a rerun trigger): --set-resources realism:score_batch=1024 etc.
    resources:
        gpu=1,
        torch_device=config["realism"]["device"],
        score_batch=config["realism"]["batch"],
    log:
        job_log("realism", "{run}"),
    conda:
        "../envs/stronglens.yaml"
    benchmark:
        job_benchmark("realism", "{run}")
    shell:
        "python -m stronglens.stages.realism_audit --checkpoint {input.checkpoint:q} --preprocessing {params.preprocessing:q}"
        " --catalog {params.catalog:q} --catalog-manifest {input.catalog:q} --run-manifest {input.run_manifest:q}"
        " {params.library} --config {params.cfg:q} --seed {params.seed}"
        " --device {resources.torch_device} --batch {resources.score_batch}"
        " --code-hash {params.code} --out {params.out} > {log:q} 2>&1"
