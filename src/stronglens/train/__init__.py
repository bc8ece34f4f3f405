"""Training a finder: the models, augmentations, epoch plans and batches, the resumable loop, weights-only
checkpoints, and scoring a trained run (p(lens) from best.pt). Its `settings` module holds a run's science
settings; `execution` the settings that only say how a job runs."""
