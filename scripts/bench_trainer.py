"""Benchmark: the mnist_vae_latent training engine against a plain PyTorch loop, side by side in one process.

Both train the same VAE (built from the bundle's own config), with the same Adam, ELBO loss, batch size and
in-memory data. The engine is the bundle's complete ``train#trainer`` with every training handler (checkpoint,
summary, stats, TensorBoard, progress bar, model export); validation is switched off because the plain loop
has none. Rounds alternate engine and plain loop; each round uses fresh networks, and the median ratio is
reported.

    python scripts/bench_trainer.py [--epochs 20] [--rounds 5] [--digits all] [--batch_size 64]
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


def time_engine(overrides: dict, bare: bool = False) -> tuple[float, int]:
    set_determinism(0)
    parser = build(overrides)
    if bare:  # the step alone: no handlers, no metrics
        parser["train"]["handlers"] = []
        parser["train"]["trainer"].pop("key_train_metric")
        parser.parse(reset=True)
    trainer = parser.get_parsed_content("train#trainer")
    n_images = len(parser.get_parsed_content("train#dataset")) * overrides["max_epochs"]
    start = time.perf_counter()
    trainer.run()
    return time.perf_counter() - start, n_images


def time_plain(overrides: dict) -> tuple[float, int]:
    set_determinism(0)
    parser = build(overrides)
    device = parser.get_parsed_content("device")
    network = parser.get_parsed_content("network_def").to(device)
    loss_fn = parser.get_parsed_content("loss")
    optimizer = torch.optim.Adam(network.parameters(), lr=overrides["learning_rate"])
    images = torch.stack([torch.as_tensor(d[Keys.IMAGE]) for d in parser.get_parsed_content("data")["train"]])
    images = images.to(device)
    batch = overrides["batch_size"]
    start = time.perf_counter()
    for _ in range(overrides["max_epochs"]):
        network.train()
        order = torch.randperm(len(images), device=device)
        for i in range(0, len(images), batch):
            x = images[order[i : i + batch]]
            optimizer.zero_grad(set_to_none=True)
            out = network(x)
            loss = loss_fn(out[Keys.RECON], x, out[Keys.MU], out[Keys.LOGVAR])
            loss.backward()
            optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, len(images) * overrides["max_epochs"]


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--epochs", type=int, default=20)
    cli.add_argument("--rounds", type=int, default=5)
    cli.add_argument("--digits", default="[0, 1]")
    cli.add_argument("--batch_size", type=int, default=64)
    cli.add_argument("--device", default=None, help="cpu or cuda; default: cuda when present")
    cli.add_argument("--breakdown", action="store_true", help="also time the bare engine (no handlers)")
    args = cli.parse_args()
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
    ratios, bare_ratios, engine_rates, plain_rates = [], [], [], []
    for r in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            seconds, n = time_engine(dict(base, output_dir=str(Path(tmp) / "engine")))
            engine_rates.append(n / seconds)
            if args.breakdown:
                seconds, n = time_engine(dict(base, output_dir=str(Path(tmp) / "bare")), bare=True)
                bare_ratios.append(n / seconds)
        seconds, n = time_plain(base)
        plain_rates.append(n / seconds)
        ratios.append(engine_rates[-1] / plain_rates[-1])
        line = f"round {r + 1}: engine {engine_rates[-1]:.0f} img/s, plain {plain_rates[-1]:.0f} img/s"
        if args.breakdown:
            bare_ratios[-1] /= plain_rates[-1]
            line += f", bare engine ratio {bare_ratios[-1]:.3f}"
        print(f"{line}, ratio {ratios[-1]:.3f}", flush=True)
    print(f"threads={torch.get_num_threads()} images/epoch={n // args.epochs} epochs/round={args.epochs}")
    print(f"engine_images_per_s={statistics.median(engine_rates):.1f}")
    print(f"plain_images_per_s={statistics.median(plain_rates):.1f}")
    if args.breakdown:
        print(f"bare_engine_ratio={statistics.median(bare_ratios):.3f}")
    print(f"ratio engine_images_per_s / plain_images_per_s = {statistics.median(ratios):.3f} (median of {args.rounds})")


if __name__ == "__main__":
    main()
