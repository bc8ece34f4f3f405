"""Execution settings of a training job: how it runs, never what it computes.

They are kept out of the run's science config (and so out of its SHA-256 and
Snakemake's params): the train rule passes them from `{threads}` and
`resources`, so `--set-threads train=16`, `--set-resources` and the profiles
reach torch without retraining anything, and a `last.pt` resumes across them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from stronglens.config.validation import EXECUTION_KEYS


@dataclass(frozen=True)
class ExecutionSettings:
    """How one training job runs.

    threads: torch intra-op CPU threads (Snakemake's `{threads}` of the job).
    device: ``auto`` (CUDA when visible, else CPU), ``cpu`` or ``cuda[:N]``.
    num_workers: DataLoader worker processes (0 = batches built in the training process).
    pin_memory: pin host batches for faster copies to CUDA (ignored on CPU).
    eval_batch: images per forward pass when scoring the val split.
    channels_last: convolutions in channels-last memory format.
    """

    threads: int = 2
    device: str = "auto"
    num_workers: int = 0
    pin_memory: bool = True
    eval_batch: int = 256
    channels_last: bool = True

    def __post_init__(self) -> None:
        if self.threads < 1 or self.num_workers < 0 or self.eval_batch < 1:
            raise ValueError(f"execution settings out of range: {self}")

    @classmethod
    def from_train(cls, train: dict) -> ExecutionSettings:
        """The execution keys of a training block (schema defaults where absent)."""
        return cls(**{k: train[k] for k in EXECUTION_KEYS if k in train})


assert {f.name for f in fields(ExecutionSettings)} == set(EXECUTION_KEYS)
