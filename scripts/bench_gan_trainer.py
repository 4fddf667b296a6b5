"""Benchmark: medmonai's GANTrainer against a plain PyTorch GAN loop on the same networks and data, in one process.

Both do the same work per iteration: one discriminator step (WGAN loss with PGGAN's drift; the gradient penalty
every ``gp_interval`` iterations), one generator step through the frozen discriminator, and an update of the
generator's moving average. The networks are bundles/medical_gan's defaults at their final stage (64x64, two
channels), the data are in-memory tensors, so the ratio measures the engine: Ignite's event loop, MONAI's
handlers machinery and the trainer's bookkeeping. Rounds alternate plain and ours; each round times
``--iterations`` iterations after a warm-up, and the script reports the median images/s of each and the median of
their per-round ratio (ours / plain; the goal is >= 0.95).

    python scripts/bench_gan_trainer.py [--rounds 7] [--iterations 8] [--batch 32]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils.data import DataLoader

from medmonai.engines import GANTrainer, ema_generator
from medmonai.losses import discriminator_loss, generator_loss, gradient_penalty
from medmonai.networks import ProgressiveDiscriminator, ProgressiveGenerator

SETTINGS = {"base_shape": (8, 8), "n_stages": 4, "channel_base": 128, "max_channels": 128, "min_channels": 16}


def networks(seed: int = 0) -> tuple:
    torch.manual_seed(seed)
    g = ProgressiveGenerator(latent_size=128, out_channels=2, **SETTINGS)
    d = ProgressiveDiscriminator(in_channels=2, **SETTINGS)
    g_opt = torch.optim.Adam(g.parameters(), 1e-3, betas=(0.0, 0.99))
    d_opt = torch.optim.Adam(d.parameters(), 1e-3, betas=(0.0, 0.99))
    return g, d, g_opt, d_opt, ema_generator(g, 0.999)


def plain_loop(loader: DataLoader, gp_interval: int) -> float:
    """Seconds for one pass of a hand-written loop."""
    g, d, g_opt, d_opt, ema = networks()
    start = time.perf_counter()
    for i, batch in enumerate(loader):
        real = batch["image"]
        z = torch.randn(real.shape[0], g.latent_size)
        with torch.no_grad():
            fake = g(z)
        loss = discriminator_loss(d(real), d(fake))
        if i % gp_interval == 0:
            loss = loss + 10.0 * gp_interval * gradient_penalty(d, real, fake)
        d_opt.zero_grad(set_to_none=True)
        loss.backward()
        d_opt.step()
        d.requires_grad_(False)
        g_loss = generator_loss(d(g(torch.randn(real.shape[0], g.latent_size))))
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()
        d.requires_grad_(True)
        ema.update_parameters(g)
    return time.perf_counter() - start


def trainer_run(loader: DataLoader, gp_interval: int) -> float:
    """Seconds for one epoch of GANTrainer over the same loader."""
    g, d, g_opt, d_opt, ema = networks()
    trainer = GANTrainer("cpu", 1, loader, g, d, g_opt, d_opt, gp_interval=gp_interval, ema=ema)
    start = time.perf_counter()
    trainer.run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=8)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--gp_interval", type=int, default=4)
    args = parser.parse_args()
    images = torch.rand(args.iterations * args.batch, 2, 64, 64) * 2 - 1
    data = [{"image": x} for x in images]
    loader = DataLoader(data, batch_size=args.batch, shuffle=False)
    plain_loop(loader, args.gp_interval)  # warm-up: allocator, thread pools
    trainer_run(loader, args.gp_interval)
    plain, ours = [], []
    for _ in range(args.rounds):
        plain.append(len(images) / plain_loop(loader, args.gp_interval))
        ours.append(len(images) / trainer_run(loader, args.gp_interval))
    ratios = [o / p for o, p in zip(ours, plain, strict=True)]
    print(f"{args.rounds} alternating rounds of {args.iterations} iterations, batch {args.batch}, 64x64, 2 channels")
    print(f"plain PyTorch loop: median {statistics.median(plain):.1f} images/s")
    print(f"GANTrainer:         median {statistics.median(ours):.1f} images/s")
    rounds = ", ".join(f"{r:.3f}" for r in ratios)
    print(f"ratio GANTrainer / plain: median {statistics.median(ratios):.3f} (rounds: {rounds})")


if __name__ == "__main__":
    main()
