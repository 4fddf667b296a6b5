"""One GAN trainer for every GAN model: MONAI's ``Trainer`` event model with a generator and a discriminator.

Why not MONAI's ``GanTrainer``: it takes flat latents only, never passes ``amp`` on and has no gradient scaler,
reuses one real batch for every discriminator step without a gradient penalty, registers no state for resume,
and knows nothing of progressive growing. This trainer is a thin ``monai.engines.Trainer`` subclass instead, so
MONAI's handlers (stats, TensorBoard, MLflow, checkpoints) attach as to any MONAI trainer, and adds:

- two optimizers and two ``torch.amp.GradScaler`` s (AMP on GPU), ``d_steps`` discriminator steps per generator step;
- the WGAN-GP loss (gradient penalty and PGGAN's drift term) or the non-saturating logistic loss;
- an exponential moving average of the generator (``torch.optim.swa_utils.AveragedModel``), which samples use,
  restarted at every new resolution stage (weights of different stages do not average into one network);
- a :class:`medmonai.engines.ProgressiveSchedule` for progressive GANs: per iteration the stage, fade-in alpha
  and batch; real images are shown at the stage's resolution, blended like the generator's output during fade-in.

Everything training needs to resume bit for bit is an object with ``state_dict``: the networks (a progressive
network keeps its stage and alpha in buffers), both optimizers and scalers, the average; the stage itself is a
function of the trainer's epoch and iteration. :class:`medmonai.handlers.ResumableCheckpoint` saves them with the
trainer and every RNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from monai.engines import Trainer
from monai.engines.utils import IterationEvents
from torch import nn
from torch.optim.swa_utils import AveragedModel

from medmonai.engines.progressive import Progress, ProgressiveSchedule
from medmonai.errors import ConfigError
from medmonai.keys import Keys
from medmonai.losses.gan import GAN_LOSSES, discriminator_loss, generator_loss, gradient_penalty

__all__ = ["GANTrainer", "ema_generator", "stage_images"]


def stage_images(images: torch.Tensor, shape: Sequence[int], alpha: float = 1.0) -> torch.Tensor:
    """Real images as a progressive discriminator sees them: at ``shape``, faded like the generator's output.

    Downsampled by area averaging to ``shape``; while a stage fades in (``alpha`` < 1) they are blended with their
    own half-resolution version upsampled, as the generator's output is blended with its previous stage's.
    """
    x = images if tuple(images.shape[-2:]) == tuple(shape) else F.adaptive_avg_pool2d(images, tuple(shape))
    if alpha < 1.0:
        coarse = F.interpolate(F.avg_pool2d(x, 2), scale_factor=2.0, mode="nearest")
        x = alpha * x + (1.0 - alpha) * coarse
    return x


def _requires_grad(module: nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)


class GANTrainer(Trainer):
    """Train a generator against a discriminator (see the module docstring for what it adds to MONAI's).

    The batch's ``image`` holds real images in [-1, 1], ``(B, C, H, W)`` at the final resolution. Per iteration
    the output holds ``g_loss``, ``d_loss``, ``gp`` (0 in iterations without the penalty), ``real_score`` and
    ``fake_score`` (mean raw discriminator scores), ``stage``, ``alpha`` and ``batch_size``.

    Args:
        device: where the networks run.
        max_epochs: epochs to train (for a progressive GAN: ``schedule.total_epochs(len(loader))``).
        train_data_loader: real images.
        generator: ``z (B, latent_size) -> images``; a progressive one has ``set_progress(stage, alpha)``.
        discriminator: ``images -> (B,)`` raw scores, no BatchNorm (it breaks the gradient penalty and DDP).
        g_optimizer: the generator's optimizer.
        d_optimizer: the discriminator's optimizer.
        loss: ``"wgan_gp"`` or ``"non_saturating"``. Defaults to ``"wgan_gp"``.
        gp_weight: weight of the gradient penalty; 0 turns it off. Defaults to 10 (WGAN-GP's lambda).
        gp_interval: apply the penalty every this many iterations, weighted by it (StyleGAN2's lazy
            regularisation): the penalty's double backward is the costliest part of a step. Defaults to 1.
        drift_weight: PGGAN's drift term (``wgan_gp``). Defaults to 1e-3.
        d_steps: discriminator steps per generator step, each with fresh latents and the same real batch.
            Defaults to 1.
        ema: the generator's moving average (``AveragedModel``), updated after every generator step. Defaults
            to None.
        g_scaler: the generator's ``torch.amp.GradScaler``. Defaults to None (a disabled one).
        d_scaler: the discriminator's. Defaults to None.
        schedule: the progressive schedule; None trains at the final resolution throughout. Defaults to None.
        amp: mixed precision (autocast; with enabled scalers on CUDA). Defaults to False.
        train_handlers: handlers, as for MONAI's ``SupervisedTrainer``. Defaults to None.
        key_train_metric: an epoch metric of the output (e.g. the mean ``g_loss``), as for ``SupervisedTrainer``.
            Defaults to None.
        **kwargs: as for MONAI's ``Trainer`` (``additional_metrics``, ``metric_cmp_fn``, ``epoch_length``, ...).

    Raises:
        ConfigError: an unknown loss, ``d_steps`` < 1, or a schedule whose stages the networks do not have.
    """

    def __init__(
        self,
        device: torch.device | str,
        max_epochs: int,
        train_data_loader: Any,
        generator: nn.Module,
        discriminator: nn.Module,
        g_optimizer: torch.optim.Optimizer,
        d_optimizer: torch.optim.Optimizer,
        loss: str = "wgan_gp",
        gp_weight: float = 10.0,
        gp_interval: int = 1,
        drift_weight: float = 1e-3,
        d_steps: int = 1,
        ema: AveragedModel | None = None,
        g_scaler: torch.amp.GradScaler | None = None,
        d_scaler: torch.amp.GradScaler | None = None,
        schedule: ProgressiveSchedule | None = None,
        amp: bool = False,
        train_handlers: Sequence | None = None,
        key_train_metric: dict | None = None,
        decollate: bool = False,
        **kwargs: Any,
    ) -> None:
        if loss not in GAN_LOSSES:
            raise ConfigError(f"loss must be one of {GAN_LOSSES}, got {loss!r}")
        if int(d_steps) < 1 or int(gp_interval) < 1:
            raise ConfigError(f"d_steps and gp_interval must be >= 1, got {d_steps} and {gp_interval}")
        if schedule is not None:
            for name, network in (("generator", generator), ("discriminator", discriminator)):
                if not hasattr(network, "set_progress"):
                    kind = type(network).__name__
                    raise ConfigError(f"a progressive schedule needs a progressive {name}, got {kind}")
                schedule.check_reaches(network.n_stages, f"the {name}'s stages")
        super().__init__(
            device=device,
            max_epochs=max_epochs,
            data_loader=train_data_loader,
            handlers=train_handlers,
            key_metric=key_train_metric,
            amp=amp,
            decollate=decollate,
            **kwargs,
        )
        self.generator, self.discriminator = generator, discriminator
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.loss, self.d_steps = loss, int(d_steps)
        self.gp_weight, self.gp_interval, self.drift_weight = float(gp_weight), int(gp_interval), float(drift_weight)
        self.ema, self.schedule = ema, schedule
        device_type = torch.device(device).type
        self.g_scaler = g_scaler or torch.amp.GradScaler(device_type, enabled=False)
        self.d_scaler = d_scaler or torch.amp.GradScaler(device_type, enabled=False)
        self.latent_size = int(generator.latent_size)

    def progress(self) -> Progress:
        """This iteration's stage, alpha and batch (the last stage, alpha 1 and the whole batch without a schedule)."""
        if self.schedule is None:
            return Progress(getattr(self.generator, "n_stages", 1) - 1, 1.0, 0)
        return self.schedule.progress(self.state.epoch, self.state.iteration, self.state.epoch_length)

    def _set_progress(self, progress: Progress, networks: Sequence[nn.Module | None] = ()) -> None:
        if self.schedule is not None:
            for network in networks:
                if network is not None:
                    network.set_progress(progress.stage, progress.alpha)

    def _autocast(self) -> torch.autocast:
        return torch.autocast(device_type=self.state.device.type, enabled=bool(self.amp))

    def _step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler) -> None:
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    def _iteration(self, engine: GANTrainer, batchdata: dict[str, Any]) -> dict[str, Any]:
        progress = engine.progress()
        engine._set_progress(progress, (engine.generator, engine.discriminator))
        real = batchdata[Keys.IMAGE].to(engine.state.device, non_blocking=engine.non_blocking).float()
        if progress.batch_size:
            real = real[: progress.batch_size]
        if engine.schedule is not None:
            real = stage_images(real, engine.generator.output_shape(progress.stage), progress.alpha)
        n = real.shape[0]
        g, d = engine.generator, engine.discriminator
        g.train()
        d.train()

        _requires_grad(d, True)
        penalise = engine.gp_weight > 0 and (engine.state.iteration - 1) % engine.gp_interval == 0
        gp = torch.zeros((), device=real.device)
        for _ in range(engine.d_steps):
            z = torch.randn(n, engine.latent_size, device=engine.state.device)
            with engine._autocast():
                with torch.no_grad():
                    fake = g(z)
                real_score, fake_score = d(real), d(fake)
                d_loss = discriminator_loss(real_score, fake_score, engine.loss, engine.drift_weight)
            if penalise:
                gp = gradient_penalty(d, real, fake)
            engine._step(d_loss + engine.gp_weight * engine.gp_interval * gp, engine.d_optimizer, engine.d_scaler)
        engine.fire_event(IterationEvents.FORWARD_COMPLETED)

        _requires_grad(d, False)  # the generator's step needs gradients through D, not of D's weights
        z = torch.randn(n, engine.latent_size, device=engine.state.device)
        with engine._autocast():
            g_loss = generator_loss(d(g(z)), engine.loss)
        engine.fire_event(IterationEvents.LOSS_COMPLETED)
        engine._step(g_loss, engine.g_optimizer, engine.g_scaler)
        _requires_grad(d, True)
        engine.fire_event(IterationEvents.BACKWARD_COMPLETED)
        if engine.ema is not None:
            if engine.schedule is not None and int(engine.ema.module.stage) != progress.stage:
                engine.ema.n_averaged.zero_()  # a new resolution: the average restarts from the current weights
            engine.ema.update_parameters(g)
            engine._set_progress(progress, (engine.ema.module,))  # set exactly, not averaged
        engine.state.output = {
            "g_loss": g_loss.detach(),
            "d_loss": d_loss.detach(),
            "gp": gp.detach(),
            "real_score": real_score.detach().float().mean(),
            "fake_score": fake_score.detach().float().mean(),
            "stage": progress.stage,
            "alpha": progress.alpha,
            "batch_size": n,
        }
        engine.fire_event(IterationEvents.MODEL_COMPLETED)
        return engine.state.output


def ema_generator(generator: nn.Module, decay: float = 0.999) -> AveragedModel:
    """The generator's exponential moving average (``torch.optim.swa_utils.AveragedModel``), buffers included.

    The decay warms up as ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates (as TensorFlow's moving average
    does): a fixed 0.999 would keep most of the random initial weights through a short CPU run.
    """
    if not 0.0 < decay < 1.0:
        raise ConfigError(f"ema_decay must be in (0, 1), got {decay}")

    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], n_averaged: torch.Tensor) -> None:
        n = float(n_averaged)
        rate = min(decay, (1.0 + n) / (10.0 + n))
        for a, c in zip(averaged, current, strict=True):
            if torch.is_floating_point(a):
                a.lerp_(c, 1.0 - rate)
            else:  # integer buffers (a progressive network's stage) are set, not averaged
                a.copy_(c)

    return AveragedModel(generator, multi_avg_fn=update, use_buffers=True)
