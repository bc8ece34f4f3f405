"""Per-block embeddings of a trained finder: forward hooks on every feature block, globally average-pooled.

The blocks of each architecture (`FEATURE_BLOCKS`) run from the stem to the
last block before pooling; the pooled output of the last one is the
penultimate-layer embedding (the head's input: exactly so for all three
models, whose heads are one linear unit after global average pooling, with
dropout before it in EfficientNetV2-S). A block's (B, C, H, W) output becomes
(B, C) by a mean over H and W.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

FEATURE_BLOCKS = {
    "bottlenecked_resnet": ("stem", "blocks.0", "blocks.1", "blocks.2", "blocks.3"),
    "resnet18": ("relu", "layer1", "layer2", "layer3", "layer4"),
    "efficientnet_v2_s": tuple(f"features.{i}" for i in range(8)),
}


class FeatureBlockError(ValueError):
    """A model whose feature blocks cannot be hooked; the message names the architecture and the block."""


def feature_blocks(model: nn.Module, architecture: str) -> dict[str, nn.Module]:
    """The named feature blocks of `model` for `architecture`, in forward order."""
    if architecture not in FEATURE_BLOCKS:
        raise FeatureBlockError(f"architecture {architecture!r}: no feature blocks are defined to hook "
                                f"(known: {', '.join(FEATURE_BLOCKS)})")
    blocks = {}
    for name in FEATURE_BLOCKS[architecture]:
        try:
            blocks[name] = model.get_submodule(name)
        except AttributeError as err:
            raise FeatureBlockError(f"architecture {architecture!r}: feature block {name!r} is not a submodule of "
                                    f"this {type(model).__name__} ({err})") from err
    return blocks


@torch.no_grad()
def embed(model: nn.Module, architecture: str, images: np.ndarray, device: torch.device,
          batch: int = 256) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(p, {block: (N, C) pooled features}) of preprocessed (N, 3, H, W) images, model in eval mode."""
    blocks = feature_blocks(model, architecture)
    store: dict[str, list[np.ndarray]] = {name: [] for name in blocks}

    def hook(name: str):
        def keep(_module, _inputs, output):
            if not isinstance(output, torch.Tensor) or output.ndim != 4:
                raise FeatureBlockError(f"architecture {architecture!r}: block {name!r} gives "
                                        f"{getattr(output, 'shape', type(output).__name__)}, not a (B, C, H, W) map")
            store[name].append(output.float().mean(dim=(2, 3)).cpu().numpy())
        return keep

    handles = [module.register_forward_hook(hook(name)) for name, module in blocks.items()]
    model.eval()
    logits = []
    try:
        for start in range(0, len(images), batch):
            x = torch.from_numpy(np.asarray(images[start : start + batch], dtype=np.float32)).to(device)
            logits.append(model(x).squeeze(1).double().cpu().numpy())
    finally:
        for h in handles:
            h.remove()
    z = np.concatenate(logits) if logits else np.empty(0)
    feats = {name: np.concatenate(v) if v else np.empty((0, 0)) for name, v in store.items()}
    return 1.0 / (1.0 + np.exp(-z)), feats


def penultimate(architecture: str) -> str:
    """Name of the block whose pooled output is the penultimate-layer embedding."""
    return FEATURE_BLOCKS[architecture][-1]
