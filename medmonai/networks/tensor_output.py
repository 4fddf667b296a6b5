"""A network as MONAI's bundle tooling sees it: one tensor out, the wrapped network's own weights."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

__all__ = ["TensorOutput"]


class TensorOutput(nn.Module):
    """``network(x)[key]``: the one tensor a bundle's metadata declares as ``pred``.

    It is the bundle's ``network_def``, which MONAI's ``verify_net_in_out`` and ``ckpt_export`` (TorchScript) use.

    The engines drive the wrapped network, whose outputs are dicts (reconstruction, posterior, latent code). This
    wrapper shares its modules and reads and writes the wrapped network's own ``state_dict`` keys, so the weights
    that training writes (``model.pt``) load into either.

    Args:
        network: the bundle's network.
        key: the output to return; None when the network already returns a tensor. Defaults to None.
        method: the network's method to call instead of ``forward``, e.g. ``"embed"`` for a self-supervised model
            whose ``forward`` is its training loss. Defaults to None.
    """

    def __init__(self, network: nn.Module, key: str | None = None, method: str | None = None) -> None:
        super().__init__()
        self.network = network
        self.key = key
        self.method = method

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The network's ``key`` output (of ``method``, or of ``forward``) for ``x``."""
        out = getattr(self.network, self.method)(x) if self.method else self.network(x)
        return out if self.key is None else out[self.key]

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:  # the wrapped network's keys
        """The wrapped network's ``state_dict``."""
        return self.network.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False):
        """Load the wrapped network's weights (as ``model.pt`` holds them)."""
        return self.network.load_state_dict(state_dict, strict=strict, assign=assign)
