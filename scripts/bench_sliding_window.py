"""Benchmark: our sliding-window anomaly map against pure network time and MONAI's stock inferer, in one process.

The volume is nilearn's MNI152 T1 at 1 mm (197x233x189), normalised like the bundle does; the network, roi,
overlap, blending and window batch come from bundles/brain_mri_anomaly's train.yaml (its default model, with the
weights of a trained run when ``--weights`` is given, else a seeded initialisation: timing does not depend on the
weights). Rounds alternate three measurements:

- ``map``: our full map, ``SlidingWindowMapper`` over the model's window scorer (windows, network, score,
  blending, the whole volume);
- ``pure``: the network alone over the same windows, already cut out, in batches of ``sw_batch_size``;
- ``stock``: MONAI's ``SlidingWindowInferer`` called the way its docs show, on the loaded MetaTensor.

It reports (a) the median of map / pure, (b) the maximum absolute difference between our map and the stock
inferer's, (c) the peak resident memory of the process, and the post-processing time (median filter, mask).

    python scripts/bench_sliding_window.py [--rounds 5] [--model ae3d --weights runs/brain_mri_anomaly/ae3d/model.pt]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

import torch
from monai.bundle import ConfigParser
from monai.data import MetaTensor
from monai.data.utils import dense_patch_slices
from monai.inferers import SlidingWindowInferer
from monai.inferers.utils import _get_scan_interval
from monai.utils import set_determinism

from medmonai.data.synthetic.template import load_template
from medmonai.methods import AnomalyMethod
from medmonai.runs import load_weights
from medmonai.scoring import MapPostprocessor, SlidingWindowMapper
from medmonai.transforms import SimpleITKNormalize

CONFIG = Path(__file__).resolve().parents[1] / "bundles" / "brain_mri_anomaly" / "configs" / "train.yaml"


def bundle_settings(model: str) -> tuple[torch.nn.Module, AnomalyMethod, dict, MapPostprocessor]:
    parser = ConfigParser()
    parser.read_config(str(CONFIG))
    if model:
        parser["model"] = model
    set_determinism(0)
    method = parser.get_parsed_content("method")
    inferer = parser.get_parsed_content("inferer")
    window = {"roi_size": inferer.roi_size, "overlap": inferer.overlap, "sw_batch_size": inferer.sw_batch_size}
    window["mode"] = getattr(inferer.mode, "value", inferer.mode)
    return method.network(), method, window, parser.get_parsed_content("postprocessor")


def mni_volume() -> tuple[MetaTensor, torch.Tensor]:
    t1, brain, affine = load_template(resolution=1)
    image = SimpleITKNormalize("nonzero", 1.0, 99.0, clip=False)(t1[None], brain[None])
    image = torch.as_tensor(image * brain[None])[None]
    return MetaTensor(image, affine=torch.as_tensor(affine)), torch.as_tensor(brain > 0)


def windows(volume: torch.Tensor, window: dict) -> torch.Tensor:
    roi = tuple(window["roi_size"])
    scan = _get_scan_interval(volume.shape[2:], roi, 3, (window["overlap"],) * 3)
    return torch.cat([volume[(slice(None), slice(None), *s)] for s in dense_patch_slices(volume.shape[2:], roi, scan)])


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--model", default="", help="the bundle's --model (default: the bundle's default, ssad3d)")
    parser.add_argument("--weights", default="", help="model.pt of that model, trained (optional)")
    args = parser.parse_args()

    network, method, window, postprocessor = bundle_settings(args.model)
    if args.weights:
        load_weights(args.weights, network)
    network.eval()
    volume, brain = mni_volume()
    scorer = method.scorer(network)
    mapper = SlidingWindowMapper(scorer, **window)
    stock = SlidingWindowInferer(
        window["roi_size"], sw_batch_size=window["sw_batch_size"], overlap=window["overlap"], mode=window["mode"]
    )
    cut = windows(volume.as_tensor(), window)
    batch = window["sw_batch_size"]

    def pure():
        with torch.inference_mode():
            for i in range(0, len(cut), batch):
                network(cut[i : i + batch])

    def stock_map():
        with torch.no_grad():
            return stock(volume, scorer)

    ours = mapper(volume)  # warm-up, and the map compared below
    times = {"map": [], "pure": [], "stock": []}
    for _ in range(args.rounds):
        times["pure"].append(seconds(pure))
        times["map"].append(seconds(lambda: mapper(volume)))
        times["stock"].append(seconds(stock_map))
    difference = float((ours - stock_map().as_tensor()).abs().max())
    region = postprocessor.mask(brain.numpy())
    post = seconds(lambda: postprocessor(ours[0, 0].numpy(), region))
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

    median = {k: statistics.median(v) for k, v in times.items()}
    ratios = [m / p for m, p in zip(times["map"], times["pure"], strict=True)]
    print(f"volume {tuple(volume.shape[2:])}, {len(cut)} windows of {tuple(window['roi_size'])}, {window}")
    print(f"threads {torch.get_num_threads()}, rounds {args.rounds}, weights {args.weights or 'seeded init'}")
    print(f"pure network   {median['pure']:.2f} s")
    print(f"our map        {median['map']:.2f} s")
    print(f"stock inferer  {median['stock']:.2f} s  (ratio to pure {median['stock'] / median['pure']:.3f})")
    print(
        f"(a) map / pure          median {statistics.median(ratios):.3f}  (rounds {min(ratios):.3f}-{max(ratios):.3f})"
    )
    print(f"(b) max |ours - stock|  {difference:.2e}")
    print(f"(c) peak RSS            {peak_gib:.2f} GiB")
    print(f"post-processing (median filter {postprocessor.median_size}, mask): {post:.2f} s")


if __name__ == "__main__":
    main()
