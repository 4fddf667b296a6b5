"""What every VAE in medmonai shares: encode, reparameterise, decode, and draws from the prior."""

from __future__ import annotations

import torch
from torch import nn

from medmonai.keys import Keys

__all__ = ["VariationalAutoencoder"]


class VariationalAutoencoder(nn.Module):
    """Base class of the VAEs: subclasses set ``latent_size`` and implement :meth:`encode` and :meth:`decode`.

    Engines and reports rely on this protocol (``encode``, ``decode``, ``reparameterize``, ``sample``), never on
    the keys of a network's output, to know they hold a VAE.
    """

    latent_size: int

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images to the posterior ``(mu, logvar)``, each ``(B, latent_size)``."""
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, latent_size)`` codes to images in [0, 1]."""
        raise NotImplementedError

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """A draw ``z ~ N(mu, exp(logvar))``, differentiable in ``mu`` and ``logvar``."""
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` images decoded from ``z ~ N(0, I)``, drawn on the CPU with ``generator``."""
        device = next(self.parameters()).device
        return self.decode(torch.randn(n, self.latent_size, generator=generator).to(device))

    def forward(self, x: torch.Tensor, sample: bool | None = None) -> dict[str, torch.Tensor]:
        """Encode, draw or take z, and decode.

        Args:
            x: a batch of images.
            sample: draw ``z ~ q(z|x)`` if true, else ``z = mu``. Defaults to ``self.training``.

        Returns:
            ``recon`` in [0, 1]; ``mu``, ``logvar`` and ``z``, each ``(B, latent_size)``.
        """
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar) if (self.training if sample is None else sample) else mu
        return {Keys.RECON: self.decode(z), Keys.MU: mu, Keys.LOGVAR: logvar, Keys.Z: z}
