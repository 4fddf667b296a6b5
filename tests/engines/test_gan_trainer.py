"""The GAN trainer: progressive stages, both losses, AMP on CPU, and bit-exact resume from a checkpoint."""

from __future__ import annotations

import pytest
import torch
from ignite.engine import Events
from monai.data import DistributedSampler
from torch.utils.data import DataLoader

from medmonai.engines import GANTrainer, ProgressiveSchedule, ema_generator, stage_images
from medmonai.errors import ConfigError
from medmonai.handlers import ResumableCheckpoint
from medmonai.networks import DCGANDiscriminator, DCGANGenerator, ProgressiveDiscriminator, ProgressiveGenerator

SMALL = {"channel_base": 16, "max_channels": 16, "min_channels": 4}


def _images(n: int = 24, side: int = 16) -> list[dict]:
    g = torch.Generator().manual_seed(1)
    return [{"image": torch.rand(2, side, side, generator=g) * 2 - 1} for _ in range(n)]


def _trainer(tmp_path, max_epochs: int, **kwargs) -> tuple[GANTrainer, dict]:
    """A fresh trainer on the same data, networks built from the same seed, checkpointing into ``tmp_path``."""
    torch.manual_seed(0)
    g = ProgressiveGenerator(latent_size=8, out_channels=2, base_shape=(4, 4), n_stages=3, **SMALL)
    d = ProgressiveDiscriminator(in_channels=2, base_shape=(4, 4), n_stages=3, **SMALL)
    data = _images()
    sampler = DistributedSampler(data, even_divisible=False, num_replicas=1, rank=0, shuffle=True, seed=0)
    objects = {
        "generator": g,
        "discriminator": d,
        "ema": ema_generator(g, 0.9),
        "g_optimizer": torch.optim.Adam(g.parameters(), 1e-3, betas=(0.0, 0.99)),
        "d_optimizer": torch.optim.Adam(d.parameters(), 1e-3, betas=(0.0, 0.99)),
        "g_scaler": torch.amp.GradScaler("cpu", enabled=False),
        "d_scaler": torch.amp.GradScaler("cpu", enabled=False),
    }
    trainer = GANTrainer(
        device="cpu",
        max_epochs=max_epochs,
        train_data_loader=DataLoader(data, batch_size=8, sampler=sampler),
        schedule=ProgressiveSchedule(images=[24, 48, 48], batch_size=[8, 8, 4], fade_fraction=0.5),
        train_handlers=[ResumableCheckpoint(tmp_path, objects)],
        **objects,
        **kwargs,
    )
    return trainer, objects


def test_stages_grow_and_fade_in(tmp_path):
    trainer, objects = _trainer(tmp_path, max_epochs=5)
    seen = []
    trainer.add_event_handler(
        Events.ITERATION_COMPLETED,
        lambda e: seen.append((e.state.output["stage"], e.state.output["alpha"], e.state.output["batch_size"])),
    )
    trainer.run()
    assert trainer.schedule.stage_epochs(3) == [1, 2, 4] and trainer.state.epoch == 5
    assert [s for s, _, _ in seen[:3]] == [0, 0, 0] and seen[3][0] == 1 and 0 < seen[3][1] < 1
    assert seen[-1][0] == 2 and seen[-1][2] == 4  # the last stage's batch
    assert int(objects["ema"].module.stage) == 2 and objects["ema"].module(torch.randn(1, 8)).shape == (1, 2, 16, 16)


def test_a_resumed_run_repeats_an_uninterrupted_one_bit_for_bit(tmp_path):
    straight, a = _trainer(tmp_path / "straight", max_epochs=5)
    straight.run()
    first, _ = _trainer(tmp_path / "resumed", max_epochs=2)  # stops inside stage 1's fade-in
    first.run()
    resumed, b = _trainer(tmp_path / "resumed", max_epochs=5)
    resumed.run()
    assert resumed.state.epoch == 5
    for name in ("generator", "discriminator", "ema"):
        sa, sb = a[name].state_dict(), b[name].state_dict()
        assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa), name
    for name in ("g_optimizer", "d_optimizer"):
        sa, sb = a[name].state_dict()["state"], b[name].state_dict()["state"]
        assert all(torch.equal(sa[i]["exp_avg_sq"], sb[i]["exp_avg_sq"]) for i in sa), name
    assert float(a["generator"].alpha) == float(b["generator"].alpha) == 1.0


@pytest.mark.parametrize(
    "loss, d_steps, amp, gp_weight", [("non_saturating", 2, False, 0.0), ("wgan_gp", 1, True, 10.0)]
)
def test_losses_discriminator_steps_and_cpu_autocast(tmp_path, loss, d_steps, amp, gp_weight):
    torch.manual_seed(0)
    g, d = DCGANGenerator(8, 2, (16, 16), 8, 32), DCGANDiscriminator(2, (16, 16), 8, 32)
    d_optimizer = torch.optim.Adam(d.parameters(), 1e-3)
    trainer = GANTrainer(
        device="cpu",
        max_epochs=1,
        train_data_loader=DataLoader(_images(16), batch_size=8),
        generator=g,
        discriminator=d,
        g_optimizer=torch.optim.Adam(g.parameters(), 1e-3),
        d_optimizer=d_optimizer,
        loss=loss,
        gp_weight=gp_weight,
        d_steps=d_steps,
        amp=amp,
    )
    trainer.run()
    out = trainer.state.output
    assert all(torch.isfinite(torch.as_tensor(out[k])) for k in ("g_loss", "d_loss", "real_score", "fake_score"))
    assert d_optimizer.state_dict()["state"][0]["step"] == 2 * d_steps  # two batches, d_steps each
    assert (float(out["gp"]) > 0) == (gp_weight > 0)  # the penalty on the last iteration (gp_interval 1)


def test_real_images_are_shown_at_the_stage_and_faded():
    images = torch.rand(2, 1, 16, 16)
    assert stage_images(images, (16, 16)).equal(images)
    half = stage_images(images, (8, 8))
    torch.testing.assert_close(half, torch.nn.functional.avg_pool2d(images, 2))
    coarse = torch.nn.functional.interpolate(torch.nn.functional.avg_pool2d(images, 2), scale_factor=2.0)
    torch.testing.assert_close(stage_images(images, (16, 16), alpha=0.0), coarse)


def test_bad_settings_are_named():
    g, d = DCGANGenerator(8, 1, (16, 16), 8, 32), DCGANDiscriminator(1, (16, 16), 8, 32)
    opts = {"g_optimizer": torch.optim.Adam(g.parameters()), "d_optimizer": torch.optim.Adam(d.parameters())}
    loader = DataLoader(_images(8), batch_size=4)
    with pytest.raises(ConfigError, match="loss must be one of"):
        GANTrainer("cpu", 1, loader, g, d, loss="hinge", **opts)
    with pytest.raises(ConfigError, match="a progressive schedule needs a progressive generator"):
        GANTrainer("cpu", 1, loader, g, d, schedule=ProgressiveSchedule([8, 8], 4), **opts)
