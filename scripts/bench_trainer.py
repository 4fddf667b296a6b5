"""Benchmark: the mnist_vae_latent training engine against a plain PyTorch loop, side by side in one process.

Both train the same VAE (built from the bundle's own config), with the same Adam, ELBO loss, batch size and
in-memory data. The engine is the bundle's complete ``train#trainer`` with every training handler (checkpoint,
summary, stats, TensorBoard, progress bar, model export); validation is switched off because the plain loop
has none. Rounds alternate engine and plain loop; each round uses fresh networks. Both wall-clock and process
CPU time are measured (CPU time is less exposed to other tenants of a shared machine); the medians over rounds
of engine_images_per_s / plain_images_per_s are reported for each.

    python scripts/bench_trainer.py [--epochs 4] [--rounds 15] [--digits all] [--batch_size 64] [--breakdown]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

import torch
from monai.bundle import ConfigParser
from monai.utils import set_determinism

from medmonai.keys import Keys

CONFIG = Path(__file__).resolve().parents[1] / "bundles" / "mnist_vae_latent" / "configs" / "train.yaml"


def build(overrides: dict) -> ConfigParser:
    parser = ConfigParser()
    parser.read_config(str(CONFIG))
    parser.update(overrides)
    parser.parse(reset=True)
    return parser


class Clock:
    """Wall-clock and process CPU seconds of a block."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def time_engine(overrides: dict, bare: bool = False) -> tuple[Clock, int]:
    set_determinism(0)
    parser = build(overrides)
    if bare:  # the step alone: no handlers, no metrics
        parser["train"]["handlers"] = []
        parser["train"]["trainer"].pop("key_train_metric")
        parser.parse(reset=True)
    trainer = parser.get_parsed_content("train#trainer")
    n_images = len(parser.get_parsed_content("train#dataset")) * overrides["max_epochs"]
    with Clock() as clock:
        trainer.run()
    return clock, n_images


def time_plain(overrides: dict) -> tuple[Clock, int]:
    set_determinism(0)
    parser = build(overrides)
    device = parser.get_parsed_content("device")
    network = parser.get_parsed_content("model_def").to(device)
    loss_fn = parser.get_parsed_content("loss")
    optimizer = torch.optim.Adam(network.parameters(), lr=overrides["learning_rate"])
    images = torch.stack([torch.as_tensor(d[Keys.IMAGE]) for d in parser.get_parsed_content("data")["train"]])
    images = images.to(device)
    with Clock() as clock:
        train_plain(network, loss_fn, optimizer, images, overrides["batch_size"], overrides["max_epochs"])
        if device.type == "cuda":
            torch.cuda.synchronize()
    return clock, len(images) * overrides["max_epochs"]


def train_plain(network, loss_fn, optimizer, images: torch.Tensor, batch: int, epochs: int) -> None:
    """The loop a user would write: shuffle, slice, step."""
    for _ in range(epochs):
        network.train()
        order = torch.randperm(len(images), device=images.device)
        for i in range(0, len(images), batch):
            x = images[order[i : i + batch]]
            optimizer.zero_grad(set_to_none=True)
            out = network(x)
            loss = loss_fn(out[Keys.RECON], x, out[Keys.MU], out[Keys.LOGVAR])
            loss.backward()
            optimizer.step()


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--epochs", type=int, default=4)
    cli.add_argument("--rounds", type=int, default=15)
    cli.add_argument("--digits", default="all")
    cli.add_argument("--batch_size", type=int, default=64)
    cli.add_argument("--device", default=None, help="cpu or cuda; default: cuda when present")
    cli.add_argument("--breakdown", action="store_true", help="also time the bare engine (no handlers)")
    cli.add_argument("--threads", type=int, default=None, help="torch intra-op threads; default: torch's choice")
    args = cli.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    logging.disable(logging.WARNING)  # keep per-epoch logs out of the timings' stdout
    base = {
        "max_epochs": args.epochs,
        "val_interval": 10**9,
        "digits": args.digits,
        "batch_size": args.batch_size,
        "learning_rate": 1e-3,
    }
    if args.device:
        base["device"] = f"$torch.device('{args.device}')"
    time_plain(dict(base, max_epochs=1))  # warm-up: allocator, kernels, thread pools
    rows = []
    for r in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            engine, n = time_engine(dict(base, output_dir=str(Path(tmp) / "engine")))
            bare = time_engine(dict(base, output_dir=str(Path(tmp) / "bare")), bare=True)[0] if args.breakdown else None
        plain, _ = time_plain(base)
        row = {
            "engine_img_s": n / engine.wall,
            "plain_img_s": n / plain.wall,
            "wall_ratio": plain.wall / engine.wall,
            "cpu_ratio": plain.cpu / engine.cpu,
        }
        if bare is not None:
            row["bare_wall_ratio"] = plain.wall / bare.wall
        rows.append(row)
        print(
            f"round {r + 1}: " + ", ".join(f"{k} {v:.3f}" if "ratio" in k else f"{k} {v:.0f}" for k, v in row.items())
        )
    median = {k: statistics.median(row[k] for row in rows) for k in rows[0]}
    print(f"device={base.get('device', 'auto')} threads={torch.get_num_threads()} batch={args.batch_size}")
    print(f"images/epoch={n // args.epochs} epochs/round={args.epochs} rounds={args.rounds}")
    print(f"engine_images_per_s={median['engine_img_s']:.1f} plain_images_per_s={median['plain_img_s']:.1f}")
    if "bare_wall_ratio" in median:
        print(f"bare engine (no handlers) wall ratio={median['bare_wall_ratio']:.3f}")
    quartiles = statistics.quantiles([row["wall_ratio"] for row in rows], n=4)
    wall, cpu = median["wall_ratio"], median["cpu_ratio"]
    print(f"per-round wall ratio interquartile range: {quartiles[0]:.3f} .. {quartiles[2]:.3f}")
    print(f"ratio engine_images_per_s / plain_images_per_s: wall {wall:.3f}, cpu {cpu:.3f}")


if __name__ == "__main__":
    main()
