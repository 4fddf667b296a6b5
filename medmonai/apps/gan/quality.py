"""How good a trained GAN's samples are, offline: SWD, MS-SSIM diversity, memorisation, grids and interpolations.

``metrics.json`` keys: ``swd`` (training images against samples), ``swd_real_real`` (two halves of the training
images: the floor a perfect generator reaches), ``swd_blurred_mean`` (training images against the per-pixel mean
plus matched noise: a generator that learnt nothing but the mean), ``ms_ssim_samples`` and ``ms_ssim_real`` (mean
MS-SSIM of random pairs: lower is more diverse), ``memorisation_nn_ratio`` (median distance of a sample to its
nearest training image over that of a training image to its nearest other one: >= 1, samples are not copies) and
``likely_copies``. Every SWD compares sets of the same size, half the training images each, so the three are
comparable. Samples come from a fixed seed and never touch the global RNG, so reporting during training does not
change what training does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from ignite.engine import Engine, Events
from torch import nn

from medmonai.metrics.gan import (
    blurred_mean_baseline,
    memorisation_ratio,
    ms_ssim_diversity,
    sliced_wasserstein_distance,
)
from medmonai.utils.outputs import figure_png_bytes, json_bytes, write_outputs
from medmonai.viz.figures import image_grid_figure

__all__ = [
    "GANQualityReport",
    "StageSampleGrids",
    "gan_quality",
    "interpolate",
    "sample_images",
    "stack_images",
    "tiled",
    "write_quality_report",
]

logger = logging.getLogger(__name__)
MIN_REAL = 8  # the metrics compare two halves of the training images


def tiled(images: torch.Tensor) -> np.ndarray:
    """``(N, C, H, W)`` images in [-1, 1] as ``(N, H, C*W)`` in [0, 1]: the channels side by side."""
    x = ((images.detach().float().cpu().clamp(-1, 1) + 1) / 2).numpy()
    return np.concatenate(list(x.transpose(1, 0, 2, 3)), axis=-1)


@torch.no_grad()
def sample_images(generator: nn.Module, n: int, seed: int = 0, batch_size: int = 64) -> torch.Tensor:
    """``n`` images from ``generator`` (eval mode) for latents drawn with their own seeded RNG, on the CPU."""
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(n, generator.latent_size, generator=rng)
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    out = torch.cat([generator(z[i : i + batch_size].to(device)).float().cpu() for i in range(0, n, batch_size)])
    generator.train(was_training)
    return out


@torch.no_grad()
def interpolate(generator: nn.Module, rows: int = 4, steps: int = 8, seed: int = 0) -> torch.Tensor:
    """``rows`` latent interpolations of ``steps`` images each (spherical, as latents are Gaussian), stacked."""
    rng = torch.Generator().manual_seed(seed)
    ends = torch.randn(2, rows, generator.latent_size, generator=rng)
    a, b = ends[0], ends[1]
    omega = torch.arccos((a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))).clamp(min=1e-4)[:, None]
    t = torch.linspace(0, 1, steps)
    z = torch.stack([(torch.sin((1 - s) * omega) * a + torch.sin(s * omega) * b) / torch.sin(omega) for s in t], 1)
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    out = generator(z.reshape(rows * steps, -1).to(device)).float().cpu()
    generator.train(was_training)
    return out.reshape(rows, steps, *out.shape[1:])


def gan_quality(samples: torch.Tensor, real: torch.Tensor, seed: int = 0) -> dict[str, float]:
    """The metrics of ``samples`` against the ``real`` training images (both ``(N, C, H, W)`` in [-1, 1])."""
    order = torch.randperm(len(real), generator=torch.Generator().manual_seed(seed))
    half = len(real) // 2
    real_a, real_b = real[order[:half]], real[order[half : 2 * half]]
    fake = samples[:half]
    swd = sliced_wasserstein_distance(real_a, fake, seed=seed)
    metrics = {
        "swd": swd["swd"],
        "swd_real_real": sliced_wasserstein_distance(real_a, real_b, seed=seed)["swd"],
        "swd_blurred_mean": sliced_wasserstein_distance(real_a, blurred_mean_baseline(real_b, seed), seed=seed)["swd"],
        **{k: v for k, v in swd.items() if k != "swd"},
        "ms_ssim_samples": ms_ssim_diversity(samples, seed=seed, data_range=2.0),
        "ms_ssim_real": ms_ssim_diversity(real, seed=seed, data_range=2.0),
        "n_samples": len(samples),
        "n_real": len(real),
    }
    memo = memorisation_ratio(samples, real, seed=seed)
    metrics["memorisation_nn_ratio"] = memo["memorisation_nn_ratio"]
    metrics["likely_copies"] = memo["copies"]
    return metrics


def write_quality_report(
    generator: nn.Module,
    real: torch.Tensor,
    output_dir: str | Path,
    n_samples: int | None = None,
    seed: int = 0,
    title: str = "GAN samples",
    latent_seed: int | None = None,
) -> dict[str, float]:
    """Sample, measure and write ``metrics.json``, ``samples.png`` and ``interpolation.png`` (atomically).

    Args:
        generator: the (averaged) generator at its final stage.
        real: the training images, ``(N, C, H, W)`` in [-1, 1] at the generator's output shape.
        output_dir: where the files go.
        n_samples: how many samples to measure. Defaults to None (as many as training images).
        seed: seed of the metrics' draws (the real halves, descriptors, projections), and of the latents unless
            ``latent_seed`` is given. Defaults to 0.
        title: the figures' title. Defaults to ``"GAN samples"``.
        latent_seed: seed of the latents. Defaults to None (``seed``).
    """
    latent_seed = seed if latent_seed is None else latent_seed
    samples = sample_images(generator, n_samples or len(real), latent_seed)
    if len(real) < MIN_REAL:
        logger.warning(f"{len(real)} training images: too few to measure samples against (need {MIN_REAL}); no metrics")
        metrics = {"n_samples": len(samples), "n_real": len(real)}
    else:
        metrics = gan_quality(samples, real, seed)
    strip = interpolate(generator, seed=latent_seed + 1)
    height, width = samples.shape[-2:]
    files = {
        "metrics.json": json_bytes(metrics),
        "samples.png": figure_png_bytes(
            image_grid_figure(
                [tiled(samples[i * 8 : (i + 1) * 8]) for i in range(4)] + [tiled(real[:8])],
                ["samples"] * 4 + ["real"],
                f"{title}: {height}x{width}, {samples.shape[1]} channel(s) side by side",
                cell_inches=1.2 * samples.shape[1],
            )
        ),
        "interpolation.png": figure_png_bytes(
            image_grid_figure(
                [tiled(row) for row in strip],
                [f"z{i}a -> z{i}b" for i in range(len(strip))],
                f"{title}: latent interpolations",
                cell_inches=1.2 * samples.shape[1],
            )
        ),
    }
    write_outputs(output_dir, files)
    if "swd" in metrics:
        logger.info(
            f"swd {metrics['swd']:.2f} (real-real {metrics['swd_real_real']:.2f}, blurred mean "
            f"{metrics['swd_blurred_mean']:.2f}), memorisation ratio {metrics['memorisation_nn_ratio']:.3f}"
        )
    logger.info(f"wrote {', '.join(files)} to {output_dir}")
    return metrics


class StageSampleGrids:
    """Write ``samples/stage<k>_<H>x<W>.png`` from the averaged generator at the end of every stage (and training).

    Latents come from a fixed seed, so the grids of successive stages show the same latents growing.

    Args:
        generator: the averaged generator (``ema.module``) or the generator.
        output_dir: the run's folder; grids go to ``samples/`` in it.
        n: images per grid. Defaults to 16.
        seed: seed of the latents. Defaults to 0.
    """

    def __init__(self, generator: nn.Module, output_dir: str | Path, n: int = 16, seed: int = 0) -> None:
        self.generator, self.folder, self.n, self.seed = generator, Path(output_dir) / "samples", n, seed

    def attach(self, engine: Engine) -> None:
        """Check after every epoch whether a stage ended."""
        engine.add_event_handler(Events.EPOCH_COMPLETED, self.epoch_completed)

    def epoch_completed(self, engine: Engine) -> None:
        """Draw a grid when the next epoch starts a new stage, or training ends."""
        schedule, epoch, per_epoch = getattr(engine, "schedule", None), engine.state.epoch, engine.state.epoch_length
        stage = engine.progress().stage if hasattr(engine, "progress") else 0
        stage_ends = (
            schedule is not None and schedule.progress(epoch + 1, epoch * per_epoch + 1, per_epoch).stage != stage
        )
        if not (stage_ends or epoch >= engine.state.max_epochs):
            return
        images = sample_images(self.generator, self.n, self.seed)
        height, width = images.shape[-2:]
        name = f"stage{stage}_{height}x{width}.png"
        rows = [tiled(images[i : i + 8]) for i in range(0, self.n, 8)]
        figure = image_grid_figure(
            rows, [""] * len(rows), f"stage {stage}: {height}x{width}, epoch {engine.state.epoch}"
        )
        write_outputs(self.folder, {name: figure_png_bytes(figure)})
        logger.info(f"wrote {self.folder / name}")


class GANQualityReport:
    """At the end of training, :func:`write_quality_report` for the averaged generator against ``real``.

    Args:
        generator: the averaged generator (``ema.module``).
        real: the training images (a tensor, or a dataset of ``{"image": (C, H, W)}`` items).
        output_dir: where the files go.
        n_samples: samples to measure. Defaults to None (as many as training images).
        seed: seed. Defaults to 0.
        title: the figures' title. Defaults to ``"GAN samples"``.
    """

    def __init__(
        self,
        generator: nn.Module,
        real: torch.Tensor | Sequence,
        output_dir: str | Path,
        n_samples: int | None = None,
        seed: int = 0,
        title: str = "GAN samples",
    ) -> None:
        self.generator, self.real, self.output_dir = generator, real, output_dir
        self.n_samples, self.seed, self.title = n_samples, seed, title

    def attach(self, engine: Engine) -> None:
        """Report when training completes."""
        engine.add_event_handler(Events.COMPLETED, self.completed)

    def completed(self, engine: Engine) -> None:
        """Write the report."""
        real = self.real if isinstance(self.real, torch.Tensor) else stack_images(self.real)
        write_quality_report(self.generator, real, self.output_dir, self.n_samples, self.seed, self.title)


def stack_images(dataset: Sequence, key: str = "image") -> torch.Tensor:
    """The images of a dataset of ``{key: (C, H, W)}`` items as one ``(N, C, H, W)`` float tensor."""
    return torch.stack([torch.as_tensor(dataset[i][key]).float() for i in range(len(dataset))])
