"""Benchmark: population-scale data path, from a 100,000-row manifest to shards to a training step.

1. Writes a Parquet manifest of ``--rows`` subjects (id, image path, age, sex, site). Volumes are generated lazily:
   only the ``--slice`` rows that are preprocessed get a NIfTI file (a seeded smooth head-like volume), the others
   stay paths.
2. Preprocesses that slice into float16 shards (``build_shard_cache``, ``--workers`` threads) and times it; also
   times the preprocessing of ``--ukb_volumes`` volumes of UK Biobank T1 size (208x256x256 int16 -> 182x218x182)
   on one core (torch's intra-op threads at 1: on a shared machine they oversubscribe the cores).
3. Loader against trainer, rounds alternating, medians quoted: ``ShardStream`` + ``DataLoader`` samples/s alone;
   the consumption rate of a training step on the same batches held in memory (``--model encoder``: medmonai's
   3-D ``SSLEncoder``, forward and backward; ``simclr``: SimCLR with its MONAI augmentations and
   ``ContrastiveLoss``); their ratio (goal >= 2); and training read straight from the shards for
   ``--train_steps`` steps.
4. Peak RSS of opening + iterating at ``--rss_small`` rows against ``--rows`` rows (goal: within 1.2x), each in a
   fresh subprocess, rounds alternating: open the manifest, compute the cache key over every row, open a shard
   cache of that many samples (tiny ones, built here without files, so that 100,000 build in seconds) and stream
   one epoch of it through a DataLoader.
5. An on-paper extrapolation to UK Biobank (50,000 T1 volumes at 1 mm, 182x218x182 float16): disk, preprocessing
   time from the measured time per volume, and epoch time per GPU from an ASSUMED GPU step rate
   (``--assumed_gpu_samples_per_s``), which is stated as an assumption, not measured here.

    python scripts/bench_population.py [--rows 100000] [--slice 512] [--rounds 3] [--work_dir DIR]
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nibabel as nib
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from torch.utils.data import DataLoader

from medmonai.data.readers.cohort import CohortManifest
from medmonai.data.shards import Preprocess, ShardCache, build_shard_cache, cache_key
from medmonai.data.streaming import ShardStream
from medmonai.keys import Keys
from medmonai.networks.ssl import SimCLR, SSLEncoder

UKB_SOURCE = (208, 256, 256)  # a UK Biobank T1 as acquired: 1 mm, sagittal, int16
UKB_SHAPE = (182, 218, 182)  # the MNI152 1 mm grid the cohort is usually registered to
UKB_SUBJECTS = 50_000


def write_manifest(folder: Path, n_rows: int, name: str) -> Path:
    """A Parquet manifest of ``n_rows`` subjects; built column-wise (no Python object per row)."""
    rng = np.random.default_rng(0)
    numbers = np.arange(n_rows)
    ids = np.char.add("sub-", np.char.zfill(numbers.astype(str), 7))
    table = pa.table(
        {
            "subject_id": ids,
            "image": np.char.add(np.char.add("volumes/", ids), ".nii.gz"),
            "age": rng.uniform(40, 80, n_rows).round(1),
            "sex": rng.integers(0, 2, n_rows),
            "site": rng.integers(0, 3, n_rows),
        }
    )
    path = folder / name
    pq.write_table(table, path)
    return path


@functools.lru_cache(maxsize=4)
def head_mask(shape: tuple[int, ...]) -> np.ndarray:
    """An ellipsoid filling most of the grid."""
    grid = np.meshgrid(*[np.linspace(-1, 1, s, dtype=np.float32) for s in shape], indexing="ij", sparse=True)
    return sum(g**2 for g in grid) < 0.8


def head_volume(number: int, shape: tuple[int, ...]) -> np.ndarray:
    """A seeded, smooth, head-like int16 volume (an ellipsoid of low-frequency texture, plus noise)."""
    rng = np.random.default_rng(number)
    coarse = torch.from_numpy(rng.standard_normal((1, 1, *(s // 16 + 2 for s in shape)), dtype=np.float32))
    texture = torch.nn.functional.interpolate(coarse, size=shape, mode="trilinear", align_corners=True)[0, 0].numpy()
    volume = head_mask(shape) * (600 + 150 * texture) + 20 * rng.standard_normal(shape, dtype=np.float32)
    return volume.astype(np.int16)


def materialise(manifest: CohortManifest, shape: tuple[int, ...]) -> float:
    """Write the NIfTI file of every row of ``manifest`` (the lazily generated volumes); returns seconds taken."""
    start = time.perf_counter()
    paths, ids = manifest.image_paths(), manifest.subject_ids
    Path(paths[0]).parent.mkdir(parents=True, exist_ok=True)

    def write(i: int) -> None:
        path = paths[i]
        if not Path(path).exists():
            volume = head_volume(int(ids[i].split("-")[1]), shape)
            nib.save(nib.Nifti1Image(volume, np.eye(4)), path)

    with ThreadPoolExecutor(2) as pool:  # gzip and numpy release the GIL
        list(pool.map(write, range(len(manifest))))
    return time.perf_counter() - start


class EncoderStep(torch.nn.Module):
    """The bare 3-D encoder's training step: forward, a loss on its embedding, backward (no augmentation)."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.encoder = SSLEncoder(3, in_channels=in_channels)

    def training_loss(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return {Keys.LOSS: self.encoder(images).square().mean()}


class SeededVolume:
    """A preprocess without files: a tiny seeded volume per path, to build 100,000-sample caches in seconds."""

    output_shape = (1, 8, 8, 8)

    def spec(self) -> dict:
        return {"name": "SeededVolume", "output_shape": list(self.output_shape)}

    def __call__(self, path: str) -> np.ndarray:
        seed = int(Path(path).name.split("-")[1].split(".")[0])
        return np.random.default_rng(seed).normal(size=self.output_shape).astype(np.float32)


def seconds_per_volume(preprocess: Preprocess, paths: np.ndarray) -> float:
    """Seconds per volume on one core (torch's intra-op threads at 1), after a warm-up call."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        preprocess(paths[0])  # warm-up: readers, allocator
        start = time.perf_counter()
        for path in paths:
            preprocess(path)
        return (time.perf_counter() - start) / len(paths)
    finally:
        torch.set_num_threads(threads)


def preprocess_slice(args, work: Path, manifest_path: Path) -> tuple[ShardCache, dict]:
    """Materialise the slice's volumes, time one thread per volume, then build its shards with ``--workers``."""
    part = CohortManifest.read(manifest_path).take(np.arange(args.slice))
    write_s = materialise(part, tuple(args.source_shape))
    preprocess = Preprocess(tuple(args.shape), resize="resize")
    serial = seconds_per_volume(preprocess, part.image_paths()[: min(16, args.slice)])
    start = time.perf_counter()
    cache = build_shard_cache(part, work / "slice_cache", preprocess, args.shard_size, args.workers, rebuild=True)
    build = (time.perf_counter() - start) / args.slice
    return cache, {"write_volumes_s": write_s, "serial_s_per_volume": serial, "build_s_per_volume": build}


def time_ukb_preprocessing(args, work: Path) -> float:
    """Seconds per volume to preprocess UK Biobank-size T1s (load, crop/pad to 182x218x182, z-score), serially."""
    folder = work / "ukb"
    rows = [f"ukb-{i:07d}" for i in range(args.ukb_volumes)]
    table = pa.table({"subject_id": rows, "image": [f"volumes/{r}.nii.gz" for r in rows]})
    manifest = CohortManifest(table, folder / "manifest.parquet")
    materialise(manifest, UKB_SOURCE)
    return seconds_per_volume(Preprocess(UKB_SHAPE, resize="pad_crop"), manifest.image_paths())


def loader_rate(stream: ShardStream, args, epoch: int) -> tuple[float, list[torch.Tensor]]:
    """Samples/s of one epoch of the stream through a DataLoader, and the batches it gave."""
    stream.set_epoch(epoch)
    loader = DataLoader(stream, batch_size=args.batch_size, num_workers=args.loader_workers, drop_last=True)
    start = time.perf_counter()
    batches = [batch[Keys.IMAGE] for batch in loader]
    return sum(len(b) for b in batches) / (time.perf_counter() - start), batches


def train_steps(model, optimizer, batches, device: torch.device) -> float:
    """Samples/s of training steps over ``batches``."""
    start = time.perf_counter()
    for images in batches:
        optimizer.zero_grad(set_to_none=True)
        model.training_loss(images.to(device, non_blocking=True))[Keys.LOSS].backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return sum(len(b) for b in batches) / (time.perf_counter() - start)


def loader_against_trainer(cache: ShardCache, args) -> dict:
    device = torch.device(args.device)
    torch.manual_seed(0)
    channels = cache.shape[0]
    model = EncoderStep(channels) if args.model == "encoder" else SimCLR(spatial_dims=3, in_channels=channels)
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    stream = ShardStream(cache, buffer_size=256, seed=0)
    _, warm = loader_rate(stream, args, epoch=0)
    train_steps(model, optimizer, warm[:2], device)  # warm-up: kernels, allocator
    loader, trainer = [], []
    for r in range(args.rounds):
        rate, batches = loader_rate(stream, args, epoch=r + 1)
        loader.append(rate)
        trainer.append(train_steps(model, optimizer, batches[: args.consumer_steps], device))
        print(f"  round {r + 1}: loader {loader[-1]:.0f} samples/s, trainer {trainer[-1]:.1f} samples/s")
    fed = train_from_shards(model, optimizer, stream, args, device)
    return {"loader": statistics.median(loader), "trainer": statistics.median(trainer), "trained_from_shards": fed}


def train_from_shards(model, optimizer, stream: ShardStream, args, device: torch.device) -> float:
    """Samples/s of training fed straight by the DataLoader over the shards; the first step is a warm-up."""
    stream.set_epoch(args.rounds + 1)
    feed = DataLoader(stream, batch_size=args.batch_size, num_workers=args.loader_workers, drop_last=True)
    seen, start = 0, None
    for step, batch in enumerate(feed):
        if step == 1:
            start = time.perf_counter()
        if step > args.train_steps:
            break
        optimizer.zero_grad(set_to_none=True)
        model.training_loss(batch[Keys.IMAGE].to(device))[Keys.LOSS].backward()
        optimizer.step()
        seen += len(batch[Keys.IMAGE]) if step >= 1 else 0
    if device.type == "cuda":
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - start)


def peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM). Not ru_maxrss: Linux carries that across exec from the parent."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB, where /proc is missing


def rss_child(work: Path, n_rows: int) -> None:
    """In a fresh process: open the manifest, key it, open its cache, stream an epoch; print peak RSS."""
    start = time.perf_counter()
    manifest = CohortManifest.read(work / f"manifest_{n_rows}.parquet")
    key = cache_key(manifest, SeededVolume(), 256)
    ages = manifest.covariate("age")
    stream = ShardStream(work / f"rss_cache_{n_rows}", buffer_size=1024, seed=0)
    seen = sum(len(batch["index"]) for batch in DataLoader(stream, batch_size=64))
    peak_mib = peak_rss_mib()
    result = {"rows": n_rows, "samples": seen, "peak_rss_mib": peak_mib, "seconds": time.perf_counter() - start}
    print(json.dumps(result | {"key": key[:12], "mean_age": float(ages.mean())}))


def peak_rss(args, work: Path) -> dict:
    sizes = (args.rss_small, args.rows)
    for n in sizes:
        manifest = CohortManifest.read(work / f"manifest_{n}.parquet")
        start = time.perf_counter()
        build_shard_cache(manifest, work / f"rss_cache_{n}", SeededVolume(), 256, check_rows=False)
        print(f"  built a {n}-sample cache for the RSS runs in {time.perf_counter() - start:.1f} s")
    peaks: dict[int, list[float]] = {n: [] for n in sizes}
    for r in range(args.rounds):
        for n in sizes if r % 2 == 0 else sizes[::-1]:
            command = [sys.executable, __file__, "--rss_child", str(n), "--work_dir", str(work)]
            out = json.loads(
                subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1]
            )
            assert out["samples"] == n, out
            peaks[n].append(out["peak_rss_mib"])
            print(f"  round {r + 1}: {n} rows, peak RSS {out['peak_rss_mib']:.0f} MiB, {out['seconds']:.1f} s")
    return {n: statistics.median(v) for n, v in peaks.items()}


def extrapolate(args, ukb_s_per_volume: float, loader_mib_s: float) -> None:
    voxels = int(np.prod(UKB_SHAPE))
    volume_mib = voxels * 2 / 2**20
    core_hours = UKB_SUBJECTS * ukb_s_per_volume / 3600
    gpu_rate = args.assumed_gpu_samples_per_s
    print("\nUK Biobank extrapolation (on paper):")
    print(
        f"  disk: {UKB_SUBJECTS} x {'x'.join(map(str, UKB_SHAPE))} float16 = {volume_mib:.1f} MiB each, "
        f"{UKB_SUBJECTS * volume_mib / 1024:.0f} GiB in all"
    )
    print(f"  preprocessing: measured {ukb_s_per_volume:.2f} s per volume on one core -> {core_hours:.1f} core-hours")
    print(f"    ASSUMING it scales with cores (one build thread each): {core_hours / 32:.1f} h on 32 cores")
    print(f"  ASSUMPTION: one GPU trains on {gpu_rate:g} volumes/s at 182x218x182 (not measured here)")
    for gpus in (1, 8):
        epoch_min = UKB_SUBJECTS / gpus / gpu_rate / 60
        print(f"    {gpus} GPU(s): {UKB_SUBJECTS // gpus} volumes per GPU per epoch -> {epoch_min:.1f} min per epoch")
    print(
        f"    the loader must then read {gpu_rate * volume_mib:.0f} MiB/s per GPU from the shards "
        f"(this machine's loader read {loader_mib_s:.0f} MiB/s from page cache)"
    )


def parse_args() -> argparse.Namespace:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--rows", type=int, default=100_000, help="rows of the big manifest")
    cli.add_argument("--rss_small", type=int, default=1_000, help="rows of the small manifest for the RSS runs")
    cli.add_argument("--slice", type=int, default=512, help="rows preprocessed into shards")
    cli.add_argument("--source_shape", type=int, nargs=3, default=(64, 76, 64), help="generated volume size")
    cli.add_argument("--shape", type=int, nargs=3, default=(48, 48, 48), help="preprocessed size")
    cli.add_argument("--shard_size", type=int, default=64)
    cli.add_argument("--workers", type=int, default=2, help="preprocessing threads")
    cli.add_argument("--batch_size", type=int, default=8)
    cli.add_argument("--loader_workers", type=int, default=1, help="DataLoader worker processes")
    cli.add_argument("--consumer_steps", type=int, default=3, help="training steps timed per round")
    cli.add_argument("--train_steps", type=int, default=4, help="steps trained straight from the shards")
    cli.add_argument("--rounds", type=int, default=3)
    cli.add_argument("--ukb_volumes", type=int, default=1, help="UK Biobank-size volumes timed")
    cli.add_argument("--assumed_gpu_samples_per_s", type=float, default=40.0, help="ASSUMED GPU rate at 1 mm")
    cli.add_argument("--device", default="cpu")
    cli.add_argument(
        "--model", choices=("encoder", "simclr"), default="encoder", help="the bare SSLEncoder, or SimCLR with views"
    )
    cli.add_argument("--work_dir", default=None, help="keep files here (default: a temporary folder)")
    cli.add_argument("--rss_child", type=int, default=None, help=argparse.SUPPRESS)
    return cli.parse_args()


def run(args, work: Path) -> None:
    start = time.perf_counter()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (timings share the machine with it)")
    big = write_manifest(work, args.rows, f"manifest_{args.rows}.parquet")
    write_manifest(work, args.rss_small, f"manifest_{args.rss_small}.parquet")
    print(f"manifest: {args.rows} rows written in {time.perf_counter() - start:.1f} s")
    cache, build = preprocess_slice(args, work, big)
    source = "x".join(map(str, args.source_shape))
    print(f"slice: {args.slice} lazily written volumes {source} int16 .nii.gz -> {cache}")
    print("  " + ", ".join(f"{k} {v:.3f}" for k, v in build.items()))
    ukb = time_ukb_preprocessing(args, work)
    print(f"UK Biobank-size preprocessing: {ukb:.2f} s per volume (one thread, {args.ukb_volumes} volumes)")
    print(f"loader against trainer ({args.model} step, batch {args.batch_size}):")
    rates = loader_against_trainer(cache, args)
    ratio = rates["loader"] / rates["trainer"]
    print(
        f"  median loader {rates['loader']:.0f} samples/s, trainer {rates['trainer']:.1f} samples/s, ratio "
        f"{ratio:.1f} (goal >= 2); training fed from the shards {rates['trained_from_shards']:.1f} samples/s"
    )
    print("peak RSS (VmHWM), a fresh process per run:")
    peaks = peak_rss(args, work)
    small, large = peaks[args.rss_small], peaks[args.rows]
    print(
        f"  median peak RSS {args.rss_small} rows {small:.0f} MiB, {args.rows} rows {large:.0f} MiB: ratio "
        f"{large / small:.3f} (goal <= 1.2), {large - small:.0f} MiB more"
    )
    build["loader_mib_s"] = rates["loader"] * cache.read(0).nbytes * 2 / 2**20  # as float32
    extrapolate(args, ukb, build["loader_mib_s"])
    figures = {"loader_over_trainer": ratio, "rss_ratio": large / small, "ukb_s_per_volume": ukb} | rates | build
    print("\nfigures: " + json.dumps({k: round(float(v), 4) for k, v in figures.items()}))
    print(f"total {time.perf_counter() - start:.0f} s, torch threads {torch.get_num_threads()}, device {args.device}")


def main() -> None:
    args = parse_args()
    logging.disable(logging.WARNING)
    if args.rss_child is not None:
        rss_child(Path(args.work_dir), args.rss_child)
        return
    if args.work_dir:
        Path(args.work_dir).mkdir(parents=True, exist_ok=True)
        run(args, Path(args.work_dir))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run(args, Path(tmp))


if __name__ == "__main__":
    main()
