"""Training a finder: the models, augmentations, epoch plans and batches, the resumable loop, weights-only
checkpoints, and scoring a trained run (p(lens) from best.pt)."""
