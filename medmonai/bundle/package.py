"""A trained model as a standard MONAI bundle you can hand over: export, verify offline, and run.

- :func:`export_package` writes ``configs/``, ``models/model.pt``, ``models/thresholds.json`` (when calibrated),
  ``docs/`` and ``LICENSE``, with ``metadata.json`` holding the versions, the training summary and a SHA-256 of
  every other file, as one zip.
- :func:`verify_package` checks a package without running any of its code: safe paths (no ``..``, no absolute
  paths, no symlinks), required files, the metadata schema, checksums, versions, weights that load with
  ``weights_only=True``, and every ``$`` expression, ``_target_`` and ``logging.conf`` class against the
  allow-list of :mod:`medmonai.bundle.code_scan`. Only then, and only for allowed code (or ``trust``), MONAI's
  ``verify_net_in_out`` and ``ckpt_export``.
- :func:`run_package` verifies, then runs the package's ``inference.yaml`` through ``python -m monai.bundle run``.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import torch
import yaml

import medmonai
from medmonai import runs
from medmonai.bundle.code_scan import CodeItem, scan_bundle
from medmonai.bundle.metadata import verify_bundle_metadata
from medmonai.errors import PackageError
from medmonai.utils.outputs import atomic_write_bytes

__all__ = ["REQUIRED_FILES", "export_package", "run_package", "verify_package"]

logger = logging.getLogger(__name__)
REQUIRED_FILES = (
    "configs/train.yaml",
    "configs/inference.yaml",
    "configs/package.yaml",
    "configs/metadata.json",
    f"models/{runs.WEIGHTS_FILE}",
    "docs/README.md",
    "LICENSE",
)
CHECKSUMS = "medmonai_checksums"  # metadata key: {relative path: sha256} of every file but metadata.json


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _bundle_source(bundle: str, bundle_dir: str | Path | None) -> Path:
    source = Path(bundle_dir) if bundle_dir else Path(medmonai.__file__).resolve().parents[1] / "bundles" / bundle
    if not (source / "configs" / "train.yaml").is_file():
        raise PackageError(f"{source}: not a bundle folder (no configs/train.yaml); pass --bundle_dir")
    return source


def export_package(
    run_dir: str | Path,
    bundle: str,
    out: str | Path,
    model: str | None = None,
    settings: Mapping[str, Any] | None = None,
    bundle_dir: str | Path | None = None,
) -> Path:
    """Write a trained run as a MONAI bundle zip.

    Args:
        run_dir: the training ``output_dir``; the weights are ``<run_dir>/<model>/model.pt`` (or
            ``<run_dir>/model.pt`` without ``model``), with ``thresholds.json`` and ``train_summary.json`` beside.
        bundle: the bundle's name (its configs and docs are taken from ``bundles/<bundle>``).
        out: the zip file to write.
        model: the model name, for bundles with several. Defaults to None.
        settings: the config overrides training used (e.g. ``{"roi_size": [48, 48, 48]}``), stored in
            ``configs/package.yaml`` so the receiver runs with them. Defaults to None.
        bundle_dir: the bundle folder, when not in this checkout. Defaults to None.

    Raises:
        PackageError: no weights, or not a bundle folder.
    """
    source = _bundle_source(bundle, bundle_dir)
    weights, calibration = runs.weights_path(run_dir, model), runs.calibration_path(run_dir, model)
    if not weights.is_file():
        raise PackageError(f"{weights}: no trained weights to export")
    with tempfile.TemporaryDirectory() as tmp:
        pkg = Path(tmp) / bundle
        shutil.copytree(source / "configs", pkg / "configs")
        shutil.copytree(source / "docs", pkg / "docs")
        shutil.copy(source / "LICENSE", pkg / "LICENSE")
        (pkg / "models").mkdir()
        shutil.copy(weights, runs.weights_path(pkg / "models"))
        package_settings: dict[str, Any] = {"ckpt_path": f"$@bundle_root + '/models/{runs.WEIGHTS_FILE}'"}
        if model:
            package_settings["model"] = model
        if calibration.is_file():
            shutil.copy(calibration, runs.calibration_path(pkg / "models"))
            package_settings["thresholds_path"] = f"$@bundle_root + '/models/{runs.CALIBRATION_FILE}'"
        package_settings.update(settings or {})
        header = "# Written by medmonai.bundle export: the settings of this model's training and calibration.\n"
        (pkg / "configs" / "package.yaml").write_text(header + yaml.safe_dump(package_settings, sort_keys=True))
        summary = runs.summary_path(run_dir, model)
        meta_path = pkg / "configs" / "metadata.json"
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        meta["monai_version"] = _version("monai")
        meta["pytorch_version"] = torch.__version__.split("+")[0]
        meta["medmonai_version"] = medmonai.__version__
        meta["medmonai_package"] = {
            "model": model or bundle,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "training_summary": json.loads(summary.read_text(encoding="utf-8")) if summary.is_file() else None,
            "settings": package_settings,
        }
        meta[CHECKSUMS] = {
            str(p.relative_to(pkg).as_posix()): _sha256(p)
            for p in sorted(pkg.rglob("*"))
            if p.is_file() and p != meta_path
        }
        meta_path.write_text(json.dumps(meta, indent=4) + "\n")
        buffer = Path(tmp) / "package.zip"
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(pkg.rglob("*")):
                if path.is_file():
                    archive.write(path, f"{bundle}/{path.relative_to(pkg).as_posix()}")
        written = atomic_write_bytes(out, buffer.read_bytes())
    logger.info(f"wrote {written}")
    return written


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def _safe_extract(archive_path: Path, dest: Path) -> Path:
    """Extract a zip after checking every entry: no absolute paths, no ``..``, no links; returns the bundle root."""
    try:
        archive = zipfile.ZipFile(archive_path)
    except (zipfile.BadZipFile, OSError) as e:
        raise PackageError(f"{archive_path}: not a readable zip ({e})") from e
    with archive:
        for info in archive.infolist():
            name = PurePosixPath(info.filename)
            if (
                info.filename.startswith(("/", "\\"))
                or name.is_absolute()
                or ".." in name.parts
                or (bool(name.parts) and ":" in name.parts[0])  # a Windows drive
            ):
                raise PackageError(f"{archive_path}: entry {info.filename!r} points outside the package (refused)")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise PackageError(f"{archive_path}: entry {info.filename!r} is a symlink (refused)")
        archive.extractall(dest)
    roots = [p for p in dest.iterdir() if p.is_dir()]
    if len(roots) == 1 and not (dest / "configs").is_dir():
        return roots[0]
    return dest


def _check_tree(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_symlink():
            raise PackageError(f"{path}: a symlink inside the package (refused)")
    missing = [f for f in REQUIRED_FILES if not (root / f).is_file()]
    if missing:
        raise PackageError(f"{root}: not a medmonai package, missing {missing}")


def _check_checksums(root: Path, meta: Mapping[str, Any]) -> None:
    listed = meta.get(CHECKSUMS)
    if not isinstance(listed, dict) or not listed:
        raise PackageError(f"{root / 'configs/metadata.json'}: no {CHECKSUMS}; export the package with medmonai")
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} - {"configs/metadata.json"}
    unlisted = sorted(present - set(listed))
    if unlisted:
        raise PackageError(f"{root / unlisted[0]}: not in the package's checksums (added after export; refused)")
    for name, digest in listed.items():
        path = root / name
        if not path.is_file():
            raise PackageError(f"{path}: listed in the checksums but missing")
        if _sha256(path) != digest:
            raise PackageError(f"{path}: checksum mismatch (the file changed after export; refused)")


def _check_versions(root: Path, meta: Mapping[str, Any]) -> list[str]:
    warnings = []
    for name, theirs in (("monai", meta.get("monai_version")), ("medmonai", meta.get("medmonai_version"))):
        ours = medmonai.__version__ if name == "medmonai" else _version(name)
        if not theirs:
            raise PackageError(f"{root / 'configs/metadata.json'}: no {name} version recorded")
        if str(theirs).split(".")[:2] != ours.split(".")[:2]:
            raise PackageError(
                f"{root}: made with {name} {theirs}, this is {name} {ours} (differs beyond the patch version)"
            )
        if str(theirs) != ours:
            warnings.append(f"made with {name} {theirs}, running {ours} (patch versions differ)")
    return warnings


def _check_weights(path: Path) -> None:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a pickle of arbitrary objects, or a corrupt file
        raise PackageError(
            f"{path}: not a plain state dict of tensors; refused without unpickling ({type(e).__name__})"
        ) from e
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise PackageError(f"{path}: not a plain state dict of tensors")


def _run_tooling(root: Path) -> list[str]:
    """MONAI's own checks on the package's network: verify_net_in_out and a TorchScript export that loads."""
    from monai.bundle import ckpt_export, verify_net_in_out

    configs = [str(root / "configs" / "train.yaml"), str(root / "configs" / "package.yaml")]
    meta = str(root / "configs" / "metadata.json")
    verify_net_in_out(net_id="network_def", meta_file=meta, config_file=configs, device="cpu", bundle_root=str(root))
    with tempfile.TemporaryDirectory() as tmp:
        exported = Path(tmp) / "model.ts"
        ckpt_export(
            net_id="network_def",
            filepath=str(exported),
            ckpt_file=str(runs.weights_path(root / "models")),
            meta_file=meta,
            config_file=configs,
            use_trace=True,
            bundle_root=str(root),
        )
        torch.jit.load(str(exported))
    return ["verify_net_in_out: passed", "ckpt_export: TorchScript written and loaded"]


def verify_package(path: str | Path, trust: bool = False, dest: str | Path | None = None, tooling: bool = True) -> dict:
    """Check a package (zip or folder) offline; returns a report, raises on anything refused.

    Args:
        path: the zip or the extracted folder.
        trust: accept code outside the allow-list (it is still listed). Defaults to False.
        dest: where a zip is extracted. Defaults to None (a temporary folder, removed afterwards).
        tooling: run MONAI's verify_net_in_out and ckpt_export (they build the network). Defaults to True.

    Returns:
        ``{"root", "warnings", "code" (every CodeItem), "unlisted" (those outside the allow-list), "tooling"}``.

    Raises:
        PackageError: a refused entry, a missing file, a checksum or version mismatch, weights that are not a
            plain state dict, or (without ``trust``) code outside the allow-list.
    """
    path = Path(path)
    if not path.exists():
        raise PackageError(f"{path}: no such package")
    cleanup = None
    if path.is_file():
        if dest is None:
            cleanup = tempfile.mkdtemp(prefix="medmonai-package-")
            dest = cleanup
        Path(dest).mkdir(parents=True, exist_ok=True)
        root = _safe_extract(path, Path(dest))
    else:
        root = path
    try:
        _check_tree(root)
        meta_path = root / "configs" / "metadata.json"
        try:
            verify_bundle_metadata(meta_path)
        except Exception as e:
            raise PackageError(f"{meta_path}: does not satisfy the bundle metadata schema ({e})") from e
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        _check_checksums(root, meta)
        warnings = _check_versions(root, meta)
        _check_weights(runs.weights_path(root / "models"))
        code = scan_bundle(root)
        unlisted = [item for item in code if not item.allowed]
        if unlisted and not trust:
            first = unlisted[0]
            raise PackageError(
                f"{root / 'configs' / first.file}: {len(unlisted)} piece(s) of code outside the allow-list, first "
                f"{first.where}: {first.code[:80]!r} ({first.problem}); read them with `verify`, run with --trust"
            )
        checks = _run_tooling(root) if tooling else []
        return {"root": root, "warnings": warnings, "code": code, "unlisted": unlisted, "tooling": checks}
    finally:
        if cleanup is not None:
            shutil.rmtree(cleanup, ignore_errors=True)


def describe(report: Mapping[str, Any]) -> str:
    """The verification report as text: checks passed, warnings, and every piece of code with its verdict."""
    code: Sequence[CodeItem] = report["code"]
    lines = ["checks passed: files, metadata schema, checksums, versions, weights (weights_only=True)"]
    lines += [f"  {c}" for c in report["tooling"]]
    lines += [f"warning: {w}" for w in report["warnings"]]
    lines.append(f"code in the configs: {len(code)} pieces, {len(report['unlisted'])} outside the allow-list")
    for item in code:
        verdict = "allowed" if item.allowed else f"NOT ALLOWED: {item.problem}"
        lines.append(f"  {item.file} {item.where}: {item.code[:100]}  [{verdict}]")
    return "\n".join(lines)


def run_package(
    path: str | Path, workdir: str | Path, overrides: Sequence[str] = (), trust: bool = False
) -> subprocess.CompletedProcess:
    """Verify a package, extract it into ``workdir/package``, and run its ``inference.yaml`` there.

    Args:
        path: the zip or folder.
        workdir: where the package is extracted and, unless ``--output_dir`` is among the overrides, the results go.
        overrides: ``--id value`` bundle overrides (e.g. ``--input_dir /data/new``).
        trust: run code outside the allow-list. Defaults to False.

    Raises:
        PackageError: see :func:`verify_package`.
    """
    workdir = Path(workdir)
    target = workdir / "package"
    if target.exists():
        shutil.rmtree(target)
    try:
        report = verify_package(path, trust=trust, dest=target if Path(path).is_file() else None, tooling=False)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)  # a refused package leaves nothing behind
        raise
    root = Path(report["root"])
    for warning in report["warnings"]:
        logger.warning(warning)
    configs = [str(root / "configs" / f) for f in ("train.yaml", "inference.yaml", "package.yaml")]
    args = list(overrides)
    if "--output_dir" not in args:
        args += ["--output_dir", str(workdir / "results")]
    command = [sys.executable, "-m", "monai.bundle", "run", "--config_file", str(configs), "--bundle_root", str(root)]
    command += ["--logging_file", str(root / "configs" / "logging.conf"), *args]
    return subprocess.run(command, check=False)
