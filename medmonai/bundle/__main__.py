"""``python -m medmonai.bundle export | verify | run``: hand a trained model over as a MONAI bundle, safely.

python -m medmonai.bundle export runs/brain_mri_anomaly --bundle brain_mri_anomaly --model ae3d --out pkg.zip
python -m medmonai.bundle verify pkg.zip
python -m medmonai.bundle run pkg.zip --workdir mapped -- --input_dir /data/new_scans
"""

from __future__ import annotations

import argparse
import logging
import sys

import yaml

from medmonai.bundle.package import describe, export_package, run_package, verify_package
from medmonai.errors import ConfigError, install_excepthook


def _settings(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise ConfigError(f"--set {pair!r}: expected id=value, e.g. roi_size=[48,48,48]")
        out[key] = yaml.safe_load(value)
    return out


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m medmonai.bundle", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write a trained run as a bundle zip")
    export.add_argument("run_dir", help="the training output_dir")
    export.add_argument("--bundle", required=True, help="the bundle's name, e.g. brain_mri_anomaly")
    export.add_argument("--model", help="the model, for bundles with several (e.g. ae3d)")
    export.add_argument("--out", required=True, help="the zip to write")
    export.add_argument("--set", nargs="*", default=[], metavar="ID=VALUE", help="overrides training used")
    export.add_argument("--bundle_dir", help="the bundle folder, when not in this checkout")
    verify = commands.add_parser("verify", help="check a package offline and list its code")
    verify.add_argument("package", help="the zip or folder")
    verify.add_argument("--trust", action="store_true", help="accept code outside the allow-list")
    run = commands.add_parser("run", help="verify a package, then run its inference.yaml")
    run.add_argument("package", help="the zip or folder")
    run.add_argument("--workdir", required=True, help="where the package is extracted and results go")
    run.add_argument("--trust", action="store_true", help="run code outside the allow-list")
    run.epilog = "bundle overrides follow a --, e.g. -- --input_dir /data/new_scans"
    argv = list(sys.argv[1:] if argv is None else argv)
    overrides = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    if args.command == "export":
        path = export_package(args.run_dir, args.bundle, args.out, args.model, _settings(args.set), args.bundle_dir)
        print(path)
        return 0
    if args.command == "verify":
        print(describe(verify_package(args.package, trust=args.trust)))
        return 0
    return run_package(args.package, args.workdir, overrides, trust=args.trust).returncode


if __name__ == "__main__":
    install_excepthook()  # a package or setting the user got wrong ends in one line, not a traceback
    sys.exit(main())
