"""Optional `torch.compile` of the engine's elementwise hot paths.

The injection engine's inner loops are long chains of elementwise tensor
operations (ray-shooting, Sersic and clump surface brightness, the
oversampling map). In eager mode every operation reads and writes its whole
operand from memory; compiled by TorchInductor the chain becomes one fused,
vectorised loop, several times faster on a CPU. Compilation costs tens of
seconds the first time on a machine and a few seconds per process after that
(TorchInductor caches its kernels on disk), so it pays off for large batches
only and is opt-in (`RenderSettings.compile`). On a CPU it needs a C++
compiler; `compile_support` says why it cannot run, if it cannot.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable

import torch


def compile_support(device: torch.device | str) -> str | None:
    """None when `torch.compile` can build kernels for `device`; otherwise the reason it cannot."""
    kind = torch.device(device).type
    if kind == "cpu":
        if not any(shutil.which(cc) for cc in ("g++", "c++", "clang++")):
            return "torch.compile on a CPU needs a C++ compiler (g++, c++ or clang++) on PATH"
        return None
    if kind == "cuda":
        try:
            import triton  # noqa: F401
        except ImportError:
            return "torch.compile on a GPU needs the triton package"
        return None
    return f"torch.compile is not set up for device type {kind!r}"


@functools.cache
def _compiled(fn: Callable) -> Callable:
    # dynamic=None: sizes start static and turn symbolic after the first change
    # (one recompile), while settings such as the oversampling levels stay
    # compile-time constants. Not fullgraph: past dynamo's recompile limit (many
    # dtypes and ranks in one process) a fullgraph function raises, while this
    # one runs eagerly. The tests check that the hot paths trace as one graph.
    return torch.compile(fn, dynamic=None)


def maybe_compiled(fn: Callable, enabled: bool, device: torch.device | str) -> Callable:
    """`fn` compiled (once per process) when `enabled`, else `fn` itself.

    Raises RuntimeError naming the missing piece when compilation was asked
    for but cannot run on `device`.
    """
    if not enabled:
        return fn
    reason = compile_support(device)
    if reason is not None:
        raise RuntimeError(f"RenderSettings.compile is set but {reason}")
    return _compiled(fn)
