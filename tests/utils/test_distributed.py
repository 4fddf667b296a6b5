"""Unit tests of the torchrun helpers, in one process (a one-process gloo group where a group is needed).

The two-process runs of the real bundle overlays are in tests/bundles/test_multi_gpu.py.
"""

from __future__ import annotations

import logging
import socket

import pytest
import torch
import torch.distributed as dist
from torch import nn

from medmonai.errors import ConfigError, DataError
from medmonai.utils import distributed as du

TORCHRUN = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@pytest.fixture
def no_torchrun(monkeypatch):
    for name in TORCHRUN:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def one_process_group(no_torchrun):
    """torchrun's variables for a one-process job on 127.0.0.1, then the group is left whatever happens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
    for name, value in {**env, "GLOO_SOCKET_IFNAME": "lo"}.items():
        no_torchrun.setenv(name, value)
    try:
        yield du.init_distributed("cpu")
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


class Generatorish(nn.Module):
    """A network with attributes of its own, as a GAN generator has."""

    def __init__(self, batchnorm: bool = False) -> None:
        super().__init__()
        self.latent_size = 3
        self.layer = nn.Linear(3, 2)
        self.norm = nn.BatchNorm1d(2) if batchnorm else nn.Identity()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.norm(self.layer(z))

    def output_shape(self) -> tuple[int]:
        return (2,)


def test_rank_and_size_come_from_torchrun_before_the_group_exists(no_torchrun):
    assert (du.rank(), du.world_size(), du.is_rank0()) == (0, 1, True)  # a plain single process
    no_torchrun.setenv("RANK", "3")
    no_torchrun.setenv("WORLD_SIZE", "4")
    assert (du.rank(), du.world_size(), du.is_rank0()) == (3, 4, False)
    no_torchrun.setenv("RANK", "three")
    with pytest.raises(ConfigError, match="environment variable RANK must be an integer, got 'three'"):
        du.rank()


def test_the_device_is_the_local_gpu_not_the_global_rank(no_torchrun):
    no_torchrun.setenv("RANK", "5")  # second node of a 4-GPU-per-node job
    no_torchrun.setenv("LOCAL_RANK", "1")
    assert du.local_device() == torch.device("cpu")  # this machine has no GPU
    no_torchrun.setattr(torch.cuda, "is_available", lambda: True)
    no_torchrun.setattr(torch.cuda, "device_count", lambda: 4)
    assert du.local_device() == torch.device("cuda", 1)
    no_torchrun.setenv("LOCAL_RANK", "4")
    with pytest.raises(ConfigError, match=r"LOCAL_RANK 4 names a GPU this node does not have \(4 visible\)"):
        du.local_device()


def test_joining_needs_torchrun_and_a_consistent_rank(no_torchrun):
    with pytest.raises(ConfigError, match=r"runs under torchrun, which sets \['RANK', 'LOCAL_RANK'.*torchrun --nproc"):
        du.init_distributed("cpu")
    for name, value in {"RANK": "2", "LOCAL_RANK": "0", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1"}.items():
        no_torchrun.setenv(name, value)
    no_torchrun.setenv("MASTER_PORT", "29500")
    with pytest.raises(ConfigError, match=r"RANK 2 must be in \[0, WORLD_SIZE 2\)"):
        du.init_distributed("cpu")
    assert not dist.is_initialized()


def test_wrapping_needs_a_process_group():
    with pytest.raises(ConfigError, match="wrap_ddp needs a process group: run under torchrun"):
        du.wrap_ddp(nn.Linear(2, 2))


def test_a_process_group_of_one(one_process_group, caplog, monkeypatch):
    assert one_process_group == torch.device("cpu") and dist.get_backend() == "gloo"
    assert du.init_distributed("cpu") == torch.device("cpu")  # joining twice is harmless
    network = Generatorish(batchnorm=True)
    with caplog.at_level(logging.WARNING, logger="medmonai.utils.distributed"):
        wrapped = du.wrap_ddp(network)
    assert "BatchNorm statistics stay per process on cpu" in caplog.text
    assert isinstance(network.norm, nn.BatchNorm1d)  # no SyncBatchNorm on CPUs
    # the network's own attributes and methods, through the wrapper; forward through DDP
    assert wrapped.latent_size == 3 and wrapped.output_shape() == (2,) and wrapped.module is network
    with pytest.raises(AttributeError):
        _ = wrapped.no_such_attribute
    wrapped(torch.randn(4, 3)).sum().backward()
    assert network.layer.weight.grad is not None
    assert set(wrapped.state_dict()) == {f"module.{k}" for k in network.state_dict()}  # hence: save the network
    du.wait_for_rank0()  # a group of one: nobody to wait for
    du.release_ranks()

    def no_collective(*args, **kwargs):
        raise AssertionError("the last wait must go through the store: a gloo collective can abort the exit")

    monkeypatch.setattr(dist, "barrier", no_collective)
    du.finish_distributed()
    assert not dist.is_initialized()
    du.finish_distributed()  # nothing left to leave


def test_each_rank_gets_an_equal_share_of_the_datalist(no_torchrun):
    data = [{"image": i} for i in range(7)]
    assert du.rank_partition(data) == data  # one process keeps everything, in order
    no_torchrun.setenv("WORLD_SIZE", "2")
    shares = []
    for rank in (0, 1):
        no_torchrun.setenv("RANK", str(rank))
        shares.append([d["image"] for d in du.rank_partition(data, seed=3)])
    assert len(shares[0]) == len(shares[1]) == 4  # 7 items: one repeats so both ranks take 4 steps
    assert sorted(set(shares[0]) | set(shares[1])) == list(range(7))
    assert shares[0] != [0, 2, 4, 6]  # shuffled before splitting
    with pytest.raises(DataError, match="rank_partition got an empty datalist"):
        du.rank_partition([])


def test_writer_handler_ids_are_the_handlers_that_do_not_change_training():
    config = {
        "train": {
            "handler_set": {
                "checkpoint": {"_target_": "medmonai.handlers.ResumableCheckpoint"},  # loads on every rank on resume
                "summary": {"_target_": "medmonai.handlers.TrainingSummary"},  # writes a file
                "validation": {"_target_": "ValidationHandler"},  # its metrics are reduced over ranks
                "tensorboard": {"_target_": "TensorBoardStatsHandler"},  # writes an event file
                "reseed": {"_target_": "medmonai.handlers.EpochReseed"},  # changes what is drawn
            },
            "handlers": [],  # more handlers, after the set
        }
    }
    assert du.writer_handler_ids(config, "train#handler_set") == [
        "train#handler_set#summary",
        "train#handler_set#tensorboard",
    ]
    for not_a_set in ("validate#handler_set", "train#handlers"):  # missing, or a list
        with pytest.raises(ConfigError, match=f"{not_a_set} is not a dict of handlers by name in this config"):
            du.writer_handler_ids(config, not_a_set)
