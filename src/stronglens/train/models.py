"""Lens-finder networks: 3 input channels (g, r, z), one logit out (docs/science.md section 6).

* ``bottlenecked_resnet``: a compact ResNet of four bottleneck blocks
  (1x1 reduce, 3x3, 1x1 expand, projection shortcut where the shape changes)
  after a 3x3 stride-2 stem, global average pooling and one linear unit. With
  base width 27 it has 194,293 parameters, within 0.1% of the 194,433 of
  Paper IV's Lanusse-style network.
* ``resnet18`` and ``efficientnet_v2_s``: the torchvision networks with their
  classifier replaced by a one-logit head.

Pretrained weights come only from a local file (`load_pretrained`); nothing is
downloaded. Every model exposes its head as ``model.head_name`` so that the
backbone can be frozen for the first epochs of a fine-tune.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

MODELS = ("bottlenecked_resnet", "resnet18", "efficientnet_v2_s")


class ModelError(ValueError):
    """An unknown model name or an unusable weights file; the message names it."""


class Bottleneck(nn.Module):
    """1x1 reduce -> 3x3 (carrying the stride) -> 1x1 expand, plus the shortcut; BN after each conv."""

    def __init__(self, c_in: int, c_mid: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_mid, 1, bias=False), nn.BatchNorm2d(c_mid), nn.ReLU(inplace=True),
            nn.Conv2d(c_mid, c_mid, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_mid), nn.ReLU(inplace=True),
            nn.Conv2d(c_mid, c_out, 1, bias=False), nn.BatchNorm2d(c_out),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class BottleneckedResNet(nn.Module):
    """Compact bottlenecked ResNet; `width` is the base channel count (27 in the seeds)."""

    head_name = "fc"

    def __init__(self, width: int = 27, in_channels: int = 3) -> None:
        super().__init__()
        c = width
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c),
                                  nn.ReLU(inplace=True))
        self.blocks = nn.Sequential(
            Bottleneck(c, c, 2 * c, stride=1),
            Bottleneck(2 * c, c, 4 * c, stride=2),
            Bottleneck(4 * c, 2 * c, 8 * c, stride=2),
            Bottleneck(8 * c, 2 * c, 8 * c, stride=2),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8 * c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.blocks(self.stem(x))).flatten(1))


def _torchvision_model(name: str) -> nn.Module:
    from torchvision import models as tvm

    if name == "resnet18":
        model = tvm.resnet18(weights=None)
        model.fc = nn.Linear(model.fc.in_features, 1)
        model.head_name = "fc"
    else:
        model = tvm.efficientnet_v2_s(weights=None)
        model.classifier = nn.Sequential(nn.Dropout(p=0.2), nn.Linear(model.classifier[1].in_features, 1))
        model.head_name = "classifier"
    return model


def build_model(name: str, width: int = 27, pretrained: str | None = None) -> nn.Module:
    """A freshly initialised model (torch's global RNG sets the init), optionally with local pretrained weights."""
    if name not in MODELS:
        raise ModelError(f"unknown model {name!r}: field model (choose one of {', '.join(MODELS)})")
    model = BottleneckedResNet(width) if name == "bottlenecked_resnet" else _torchvision_model(name)
    if pretrained:
        load_pretrained(model, pretrained)
    return model


def head_parameters(model: nn.Module) -> list[nn.Parameter]:
    return list(getattr(model, model.head_name).parameters())


def backbone_modules(model: nn.Module) -> list[nn.Module]:
    """Top-level children other than the head (what `freeze_backbone_epochs` freezes)."""
    return [m for name, m in model.named_children() if name != model.head_name]


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def load_pretrained(model: nn.Module, path: str | Path) -> dict[str, int]:
    """Load backbone weights from a local file; the head keeps its fresh init.

    Accepts a plain state dict (e.g. torchvision's ImageNet ``.pth``) or one of
    our checkpoints (a dict with a ``model`` entry). Loading uses
    ``weights_only=True``. Head tensors of another shape (a 1000-class
    ImageNet head) are skipped; a backbone tensor that is missing or has a
    different shape is an error naming the file and the tensor.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelError(f"pretrained weights file {str(path)!r} does not exist: field pretrained (nothing is downloaded)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling failure is a bad file
        raise ModelError(f"pretrained weights file {str(path)!r} cannot be loaded with weights_only=True: {err}") from err
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise ModelError(f"pretrained weights file {str(path)!r} holds {type(state).__name__}, not a state dict")
    own = model.state_dict()
    head = f"{model.head_name}."
    for key, tensor in own.items():
        if key.startswith(head):
            continue
        if key not in state:
            raise ModelError(f"pretrained weights file {str(path)!r} lacks tensor {key!r} of this model")
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise ModelError(f"pretrained weights file {str(path)!r}: tensor {key!r} has shape "
                             f"{tuple(state[key].shape)}, the model needs {tuple(tensor.shape)}")
    backbone = {k: v for k, v in state.items() if k in own and not k.startswith(head)}
    head_loaded = {k: v for k, v in state.items() if k.startswith(head) and k in own and v.shape == own[k].shape}
    model.load_state_dict({**own, **backbone, **head_loaded})
    return {"backbone_tensors": len(backbone), "head_tensors": len(head_loaded)}
