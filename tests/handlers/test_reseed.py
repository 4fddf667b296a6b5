"""Per-epoch reseeding handlers: each rank's generators are a function of (seed, rank, epoch)."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from medmonai.handlers import RankSeeds


def test_rank_seeds_differ_per_rank_and_epoch_and_repeat_on_resume(monkeypatch):
    for name in ("LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)

    def draw(rank: int, epoch: int) -> torch.Tensor:
        monkeypatch.setenv("RANK", str(rank))  # outside a process group, the rank comes from torchrun's RANK
        RankSeeds(seed=7).epoch_started(SimpleNamespace(state=SimpleNamespace(epoch=epoch)))
        return torch.rand(3)

    assert torch.equal(draw(0, 2), draw(0, 2))  # a resumed epoch draws what the first run drew
    assert not torch.equal(draw(0, 2), draw(1, 2))  # another rank: other latents and noise
    assert not torch.equal(draw(0, 2), draw(0, 3))
