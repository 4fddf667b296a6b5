"""Running a bundle's training under ``torchrun``: one process per GPU (or per CPU slot), on one node or several.

A bundle's ``configs/multi_gpu_train.yaml`` is an overlay on its ``train.yaml`` that calls these helpers, each
from one short line. The same overlay serves one node and several; only the ``torchrun`` arguments change.
A new bundle's overlay takes these steps:

1. ``device: "$medmonai.utils.distributed.local_device()"``: the process's own GPU, ``cuda:<LOCAL_RANK>``. The
   global rank would name a GPU that does not exist on the second node.
2. In ``initialize``, right after the command-line check, :func:`init_distributed` joins the process group that
   torchrun describes in ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``: NCCL on
   GPUs, gloo on CPUs. :func:`wait_for_rank0` and :func:`release_ranks` go around the step that reads the data,
   so rank 0 writes any shared cache (an embedded data set) before the other ranks look for it. ``finalize``
   calls :func:`finish_distributed`.
3. The trainer gets ``wrap_ddp(@network, @device)``. Everything else keeps the bare network: the optimizer,
   the checkpoints, ``model.pt`` and the evaluator. :func:`wrap_ddp` averages every step's gradients over the
   processes and turns BatchNorm into SyncBatchNorm on GPUs.
4. Data. A sampler derived from ``DistributedSampler`` takes ``num_replicas: world_size()`` and
   ``rank: rank()``. A ``CacheDataset`` takes ``rank_partition(datalist, seed)``, so each item is cached in one
   process, not in every one. A stream that shards itself by rank needs nothing. A validation loader takes
   MONAI's ``DistributedSampler(even_divisible=False, shuffle=False)``; ignite's metrics add up their sums over
   all ranks, so every rank computes the same exact value.
5. Every handler that writes or shows something (weights, summaries, logs, figures, progress bars) gets
   ``_disabled_: "@not_rank0"``, so it is not even built on the other ranks. A TensorBoard handler creates its
   event file as soon as it is built. ``train.yaml`` keeps its handlers in a dict by name (``train#handler_set``;
   the trainer attaches them in its order, then the list ``train#handlers``), so the overlay names each one:
   ``train#handler_set#tensorboard#_disabled_``. :func:`writer_handler_ids` lists those handlers: every
   handler whose class is not in :data:`EVERY_RANK_HANDLERS`. Handlers that change what is trained stay on every
   rank. The checkpoint handler also stays on every rank, because every rank loads the checkpoint on resume;
   ignite saves it from rank 0 only. A rank-0 handler must not call collectives, nor the DDP wrapper's forward.
6. ``train#handler_set#rank_seeds`` adds :class:`~medmonai.handlers.RankSeeds`: each rank draws its own noise and
   latents.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from medmonai.errors import ConfigError, DataError

__all__ = [
    "EVERY_RANK_HANDLERS",
    "TORCHRUN_VARIABLES",
    "DistributedNetwork",
    "finish_distributed",
    "init_distributed",
    "is_rank0",
    "local_device",
    "rank",
    "rank_partition",
    "release_ranks",
    "wait_for_rank0",
    "world_size",
    "wrap_ddp",
    "writer_handler_ids",
]

logger = logging.getLogger(__name__)

TORCHRUN_VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
# handler classes that change what is trained, or join collective calls: they must run on every rank
EVERY_RANK_HANDLERS = frozenset(
    {"ResumableCheckpoint", "EpochReseed", "SetEpoch", "RankSeeds", "ValidationHandler", "LrScheduleHandler"}
    | {"EarlyStopHandler", "CheckpointLoader"}
)
_LAUNCH = (
    "torchrun --nproc_per_node=N -m monai.bundle run --config_file \"['<bundle>/configs/train.yaml',"
    "'<bundle>/configs/multi_gpu_train.yaml']\""
)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as e:
        raise ConfigError(f"environment variable {name} must be an integer, got {value!r}") from e


def rank() -> int:
    """This process's global rank: from the process group, else torchrun's ``RANK``, else 0."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else _env_int("RANK", 0)


def world_size() -> int:
    """How many processes train together: from the process group, else torchrun's ``WORLD_SIZE``, else 1."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else _env_int("WORLD_SIZE", 1)


def is_rank0() -> bool:
    """Whether this process writes the outputs (rank 0, or the only process)."""
    return rank() == 0


def local_device() -> torch.device:
    """This process's device: ``cuda:<LOCAL_RANK>`` when the node has GPUs, else the CPU.

    ``LOCAL_RANK`` numbers the processes of one node, so it names a GPU of that node on every node of a
    multi-node run; the global rank would not.

    Raises:
        ConfigError: ``LOCAL_RANK`` is not a number, or names a GPU the node does not have.
    """
    local = _env_int("LOCAL_RANK", 0)
    if not torch.cuda.is_available():
        return torch.device("cpu")
    count = torch.cuda.device_count()
    if not 0 <= local < count:
        raise ConfigError(
            f"LOCAL_RANK {local} names a GPU this node does not have ({count} visible); "
            f"--nproc_per_node must not exceed the GPUs per node"
        )
    return torch.device("cuda", local)


def init_distributed(
    device: torch.device | str | None = None, timeout_minutes: float = 30.0, quiet: bool = True
) -> torch.device:
    """Join the process group ``torchrun`` set up (NCCL on GPUs, gloo on CPUs); a no-op when already joined.

    Args:
        device: this process's device. Defaults to None (:func:`local_device`).
        timeout_minutes: how long a collective call (e.g. the wait while rank 0 builds data) may block.
            Defaults to 30.
        quiet: ranks other than 0 log warnings and errors only, so the log is not repeated once per process.
            Defaults to True.

    Returns:
        The device, set as the current CUDA device when it is a GPU.

    Raises:
        ConfigError: torchrun's environment variables are missing or inconsistent.
    """
    device = local_device() if device is None else torch.device(device)
    if dist.is_initialized():
        return device
    missing = [name for name in TORCHRUN_VARIABLES if name not in os.environ]
    if missing:
        raise ConfigError(f"multi-GPU training runs under torchrun, which sets {missing}; launch it as: {_LAUNCH}")
    global_rank, size = _env_int("RANK", 0), _env_int("WORLD_SIZE", 1)
    if not 0 <= global_rank < size:
        raise ConfigError(f"RANK {global_rank} must be in [0, WORLD_SIZE {size})")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(
        backend=backend,
        timeout=timedelta(minutes=timeout_minutes),
        device_id=device if device.type == "cuda" else None,
    )
    if quiet and global_rank > 0:
        logging.getLogger().setLevel(logging.WARNING)
    logger.info(f"joined {backend} process group: {size} processes, rank {global_rank} on {device}")
    return device


def finish_distributed(timeout_minutes: float = 30.0) -> None:
    """Wait for every rank to finish, then leave the process group (nothing to do when none was joined).

    A rank that tore its connections down while rank 0 was still writing its outputs could abort at exit. The
    wait goes through the rendezvous store, not through a collective: a gloo worker thread releases each finished
    collective a moment after the caller sees it complete, and when that release falls into the interpreter's
    shutdown, the thread cannot take the GIL and the process aborts ("terminate called without an active
    exception"), about once in 40 runs of a two-process CPU job when the last call was a barrier. Collectives
    that end earlier (the last step's gradients) leave their threads the whole wait for rank 0's writes to
    release them.

    Args:
        timeout_minutes: how long a rank waits for the others, e.g. while rank 0 writes the outputs.
            Defaults to 30.
    """
    if dist.is_available() and dist.is_initialized():
        from torch.distributed.elastic.utils.store import barrier as store_barrier

        attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")  # a restarted job gets fresh keys
        store_barrier(
            dist.distributed_c10d._get_default_store(),
            world_size(),
            key_prefix=f"medmonai/finish/{attempt}",
            barrier_timeout=timeout_minutes * 60,
        )
        dist.destroy_process_group()


def _barrier() -> None:
    backend = dist.get_backend()
    if backend == "nccl":
        dist.barrier(device_ids=[torch.cuda.current_device()])
    else:
        dist.barrier()


def wait_for_rank0() -> None:
    """Ranks other than 0 wait here until rank 0 calls :func:`release_ranks`; rank 0 goes straight on.

    Put the steps that write shared files (an embedded data set generated into a cache folder) between the two
    calls: rank 0 builds them, then the other ranks find them built. Outside a process group, nothing happens.
    """
    if dist.is_initialized() and rank() > 0:
        _barrier()


def release_ranks() -> None:
    """Rank 0 lets the ranks waiting in :func:`wait_for_rank0` go on; the other ranks go straight on."""
    if dist.is_initialized() and rank() == 0:
        _barrier()


class DistributedNetwork(DistributedDataParallel):
    """``DistributedDataParallel`` that answers attribute lookups it cannot resolve from the wrapped network.

    An engine that reads a network's own attributes (a GAN's ``latent_size``, a progressive network's
    ``set_progress`` and ``output_shape``) works unchanged on the wrapper; ``forward`` goes through DDP, so its
    gradients are averaged over the processes.
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            modules = self.__dict__.get("_modules", {})
            if name == "module" or "module" not in modules:
                raise
            return getattr(modules["module"], name)


def _has_batchnorm(network: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in network.modules())


def wrap_ddp(
    network: nn.Module,
    device: torch.device | str | None = None,
    find_unused_parameters: bool = False,
    sync_batchnorm: bool = True,
    **ddp_kwargs: Any,
) -> DistributedNetwork:
    """Wrap ``network`` in DDP for training; keep using the network itself for checkpoints, export and evaluation.

    DDP broadcasts rank 0's weights when it wraps the network, so every process starts from the same weights.
    Its ``state_dict`` keys carry a ``module.`` prefix, and its ``forward`` joins collective calls. So hand the
    wrapper to the trainer only: the checkpoints and ``model.pt`` then hold the same keys as a one-process run,
    and an evaluator that runs on each rank's own shard never waits on the others.

    Args:
        network: the network, already on ``device``.
        device: its device. Defaults to None (the device of its first parameter).
        find_unused_parameters: needed when some parameters get no gradient in a step, e.g. the blocks of a
            progressive GAN's later stages. Defaults to False.
        sync_batchnorm: on GPUs, turn BatchNorm layers into ``SyncBatchNorm``, in place, so their statistics
            cover the whole global batch. On CPUs each process keeps its own statistics, because PyTorch's
            SyncBatchNorm needs GPUs. Defaults to True.
        **ddp_kwargs: passed on to ``DistributedDataParallel`` (``broadcast_buffers``, ``bucket_cap_mb``, ...).

    Returns:
        The wrapper (a :class:`DistributedNetwork`).

    Raises:
        ConfigError: no process group has been joined (call :func:`init_distributed` first).
    """
    if not (dist.is_available() and dist.is_initialized()):
        raise ConfigError("wrap_ddp needs a process group: run under torchrun and call init_distributed() first")
    device = torch.device(device) if device is not None else next(network.parameters()).device
    if sync_batchnorm and _has_batchnorm(network):
        if device.type == "cuda":
            network = nn.SyncBatchNorm.convert_sync_batchnorm(network)
        elif is_rank0():
            logger.warning(f"{type(network).__name__}: BatchNorm statistics stay per process on {device.type}")
    ids = [device.index] if device.type == "cuda" else None
    return DistributedNetwork(
        network,
        device_ids=ids,
        output_device=ids[0] if ids else None,
        find_unused_parameters=find_unused_parameters,
        **ddp_kwargs,
    )


def rank_partition(data: Sequence[Any], seed: int = 0, shuffle: bool = True, even_divisible: bool = True) -> list[Any]:
    """This rank's share of a datalist (all of it in a single process), via MONAI's ``partition_dataset``.

    Use it for a ``CacheDataset``: each rank caches only its share, instead of every rank caching every item.
    A seeded shuffle before the split makes every share a fair sample of the whole. With ``even_divisible``,
    the shares have equal lengths (a few items repeat). Ranks must take the same number of steps, or DDP waits
    forever.

    Args:
        data: the datalist.
        seed: shuffle seed (the same on every rank). Defaults to 0.
        shuffle: shuffle before splitting. Defaults to True.
        even_divisible: pad the shares to one length. Defaults to True.

    Raises:
        DataError: ``data`` is empty.
    """
    if len(data) == 0:
        raise DataError("rank_partition got an empty datalist")
    size = world_size()
    if size == 1:
        return list(data)
    from monai.data import partition_dataset

    return partition_dataset(data, num_partitions=size, shuffle=shuffle, seed=seed, even_divisible=even_divisible)[
        rank()
    ]


def writer_handler_ids(config: Mapping[str, Any], handler_set_id: str) -> list[str]:
    """Ids of the handlers under ``handler_set_id`` that a multi-GPU overlay runs on rank 0 only.

    That is every handler whose ``_target_`` class is not in :data:`EVERY_RANK_HANDLERS`: everything that writes
    or shows something (weights, summaries, logs, figures, progress bars). A bundle keeps its handlers in a dict
    keyed by name, so an overlay addresses each one by name, and adding a handler moves no other id.

    Args:
        config: a bundle config as read from its files (a ``ConfigParser``'s ``get()``), before parsing.
        handler_set_id: the id of a dict of handlers by name, e.g. ``"train#handler_set"``.

    Raises:
        ConfigError: ``handler_set_id`` is not a dict of handlers in ``config``.
    """
    node: Any = config
    for part in handler_set_id.split("#"):
        node = node.get(part) if isinstance(node, Mapping) else None
    if not isinstance(node, Mapping):
        raise ConfigError(f"{handler_set_id} is not a dict of handlers by name in this config")
    return [
        f"{handler_set_id}#{name}"
        for name, handler in node.items()
        if isinstance(handler, Mapping)
        and str(handler.get("_target_", "")).rsplit(".", 1)[-1] not in EVERY_RANK_HANDLERS
    ]
