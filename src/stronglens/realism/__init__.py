"""The realism audit (docs/science.md section 10; docs/realism.md): does the finder see injections as real lenses?

For one trained run it owns the seeds' pre-retrain diagnostics as one stage:
recall on a catalog of real(-like) lenses per tier and theta_E bin, the
injection-ness probe on penultimate-layer embeddings (linear probe, MMD,
Frechet distance per feature block) with its null tests, the bright-arc
ceiling, preprocessing fragility under another annulus, arc morphology
statistics, the arc shot-noise test, and the D01 decision gates with the
seeds' dual threshold sets.
"""
