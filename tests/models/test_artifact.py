"""model.tar.gz: save -> load gives the same predictions; broken or foreign files get clear errors."""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import subprocess
import sys
import tarfile
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from pigskin.config import ModelConfig
from pigskin.data.toy import toy_frame
from pigskin.detections import Detections
from pigskin.errors import PigskinError
from pigskin.models import build_model
from pigskin.models.artifact import load_model, save_artifact, set_score_threshold, update_artifact
from pigskin.models.predictor import Predictor

pytestmark = pytest.mark.filterwarnings("ignore:ssdlite_mobilenet_v2 at image_size")


def tiny(name: str) -> ModelConfig:
    # min_score 0 keeps every candidate, so equal outputs are a strict check
    return ModelConfig(
        name=name, image_size=96, width=0.25, fpn_channels=32, proposals_test=50, min_score=0.0
    )


def frames(n: int = 2) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [toy_frame(120, 90, np.array([[30, 20, 44, 32]]), rng) for _ in range(n)]


def save_tiny(path, name: str = "yolov3_darknet53", **metrics) -> nn.Module:
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_model(tiny(name)).eval()
    save_artifact(path, model, model.config, ["ball"], {"ap50": 0.5, **metrics})
    return model


@pytest.mark.parametrize("name", ["yolov3_darknet53", "fasterrcnn_mobilenet_v2", "ssdlite_mobilenet_v2"])
def test_round_trip_gives_the_same_predictions(tmp_path, name):
    path = tmp_path / "model.tar.gz"
    model = save_tiny(path, name)
    before = Predictor(model, model.config, ["ball"]).predict(frames(), score_threshold=0.0)
    loaded = load_model(path)
    after = loaded.predict(frames(), score_threshold=0.0)
    assert loaded.name == name and loaded.classes == ["ball"] and loaded.metrics["ap50"] == 0.5
    assert loaded.config == model.config and isinstance(loaded.torch_module, nn.Module)
    assert [len(d) for d in before] == [len(d) for d in after] and sum(len(d) for d in after) > 0
    for a, b in zip(before, after, strict=True):
        assert a.equals(b, atol=1e-4)
        assert (b.xyxy[:, 2] <= 120).all() and (b.xyxy[:, 3] <= 90).all()  # in the frame's own pixels


def test_the_manifest_records_what_predict_needs(tmp_path):
    path = tmp_path / "model.tar.gz"
    save_tiny(path)
    with tarfile.open(path) as tar:
        manifest = json.loads(tar.extractfile("pigskin-model.json").read())
        assert sorted(tar.getnames()) == ["pigskin-model.json", "weights.pt"]
    assert manifest["format"] == "pigskin-model" and manifest["classes"] == ["ball"]
    assert manifest["model_config"]["name"] == "yolov3_darknet53"
    assert manifest["preprocessing"]["image_size"] == 96 and len(manifest["preprocessing"]["mean"]) == 3
    assert manifest["pigskin_version"] and manifest["metrics"]["ap50"] == 0.5


def test_set_score_threshold_rewrites_the_manifest_and_keeps_the_weights(tmp_path):
    path = tmp_path / "model.tar.gz"
    save_tiny(path)
    before = load_model(path)
    set_score_threshold(path, 0.17, calibration={"f1": 0.9})
    after = load_model(path)
    assert before.score_threshold == 0.3 and after.score_threshold == pytest.approx(0.17)
    assert after.metrics["calibration"] == {"f1": 0.9} and after.metrics["ap50"] == 0.5
    for k, v in before.torch_module.state_dict().items():
        assert torch.equal(v, after.torch_module.state_dict()[k])
    with tarfile.open(path) as tar:
        assert sorted(tar.getnames()) == ["pigskin-model.json", "weights.pt"]  # replaced, not appended
    update_artifact(path, {"notes.txt": b"hello"})
    with tarfile.open(path) as tar:
        assert tar.extractfile("notes.txt").read() == b"hello" and len(tar.getnames()) == 3
    foreign = tmp_path / "foreign.tar.gz"
    with tarfile.open(foreign, "w:gz") as tar:
        tar.addfile(tarfile.TarInfo("x.txt"), io.BytesIO(b""))
    with pytest.raises(PigskinError, match="foreign.tar.gz: no pigskin-model.json"):
        update_artifact(foreign, {"notes.txt": b"hello"})


def test_sagemaker_layouts_load_too(tmp_path):
    inner = tmp_path / "model" / "model.tar.gz"
    save_tiny(inner)
    assert load_model(inner.parent).name == "yolov3_darknet53"  # SM_MODEL_DIR
    outer = tmp_path / "outer.tar.gz"  # SageMaker tars SM_MODEL_DIR again
    with tarfile.open(outer, "w:gz") as tar:
        tar.add(inner, arcname="model.tar.gz")
    assert load_model(outer).classes == ["ball"]


def _tar(path, files: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_broken_and_foreign_artifacts_get_clear_errors(tmp_path):
    good = tmp_path / "good.tar.gz"
    save_tiny(good)
    data = good.read_bytes()

    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"this is not a tar file at all" * 10)
    with pytest.raises(PigskinError, match=r"junk.tar.gz: not a readable model artifact"):
        load_model(junk)

    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(PigskinError, match="truncated.tar.gz: not a readable model artifact"):
        load_model(truncated)

    foreign = tmp_path / "foreign.tar.gz"
    _tar(foreign, {"model.pth": b"\x00" * 10, "code/inference.py": b"print(1)"})
    with pytest.raises(PigskinError, match=r"foreign.tar.gz: not a pigskin model artifact.*model.pth"):
        load_model(foreign)

    with tarfile.open(good) as tar:
        manifest = json.loads(tar.extractfile("pigskin-model.json").read())
        weights = tar.extractfile("weights.pt").read()
    newer = tmp_path / "newer.tar.gz"
    _tar(
        newer,
        {
            "pigskin-model.json": json.dumps({**manifest, "format_version": 99}).encode(),
            "weights.pt": weights,
        },
    )
    with pytest.raises(PigskinError, match="format version 99 is newer.*upgrade pigskin"):
        load_model(newer)

    mismatch = tmp_path / "mismatch.tar.gz"
    other = {**manifest, "model_config": {**manifest["model_config"], "name": "yolov3_mobilenet_v2"}}
    _tar(mismatch, {"pigskin-model.json": json.dumps(other).encode(), "weights.pt": weights})
    with pytest.raises(PigskinError, match="weights.pt does not fit model 'yolov3_mobilenet_v2'"):
        load_model(mismatch)

    bad_weights = tmp_path / "badweights.tar.gz"
    _tar(
        bad_weights, {"pigskin-model.json": json.dumps(manifest).encode(), "weights.pt": gzip.compress(b"x")}
    )
    with pytest.raises(PigskinError, match="weights.pt: cannot read the weights"):
        load_model(bad_weights)

    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.tar.gz")


def test_loading_imports_no_training_code(tmp_path):
    path = tmp_path / "model.tar.gz"
    save_tiny(path)
    code = (
        "import sys, numpy as np\n"
        "from pigskin.models.artifact import load_model\n"
        f"p = load_model({str(path)!r})\n"
        "p.predict([np.zeros((50, 60, 3), np.uint8)])\n"
        "print(sorted(m for m in sys.modules if m.startswith(('pigskin.train', 'pigskin.data'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


class WhiteSquare(nn.Module):
    """A detector by thresholding: the box around pixels brighter than 0.9 (for checking the plumbing
    around a model: resizing, padding and mapping boxes back to the frame)."""

    size_divisible = 32

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))
        self.config = ModelConfig(name="white_square", image_size=100)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images

    def decode(self, raw: torch.Tensor, sizes: list[tuple[int, int]]) -> list[Detections]:
        out = []
        for im, (h, w) in zip(raw, sizes, strict=True):
            ys, xs = torch.nonzero(im[:, :h, :w].min(0).values > 0.9, as_tuple=True)
            box = [[xs.min().item(), ys.min().item(), xs.max().item() + 1, ys.max().item() + 1]]
            out.append(Detections(np.array(box, np.float32), [0], [1.0]))
        return out


def test_predict_maps_boxes_back_to_each_frame():
    model = WhiteSquare()
    predictor = Predictor(model, dataclasses.replace(model.config, image_size=100), ["ball"])
    big = np.zeros((200, 300, 3), np.uint8)
    big[60:90, 150:180] = 255  # resized to 100x67 for the model
    small = np.zeros((50, 40, 3), np.uint8)
    small[10:20, 5:15] = 255  # enlarged to 80x100
    d_big, d_small = predictor.predict([big, small], batch_size=2)
    np.testing.assert_allclose(d_big.xyxy[0], [150, 60, 180, 90], atol=3.5)
    np.testing.assert_allclose(d_small.xyxy[0], [5, 10, 15, 20], atol=1.0)
    assert predictor.predict([big], score_threshold=1.5)[0].xyxy.shape == (0, 4)


def test_predict_command(tmp_path, capsys):
    from PIL import Image

    import pigskin.cli

    path = tmp_path / "model.tar.gz"
    save_tiny(path)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(frames(2)):
        Image.fromarray(frame).save(folder / f"f{i}.png")
    args = ["predict", "--model", str(path), str(folder / "f0.png"), "--score-threshold", "0"]
    assert pigskin.cli.main(args) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["image"].endswith("f0.png") and (line["width"], line["height"]) == (120, 90)
    assert line["detections"] and set(line["detections"][0]) == {"box", "class", "class_id", "confidence"}
    out = tmp_path / "pred.jsonl"
    assert pigskin.cli.main(["predict", "--model", str(tmp_path), str(folder), "--out", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 2  # both frames of the folder
    (tmp_path / "bad.tar.gz").write_bytes(b"nope")
    assert pigskin.cli.main(["predict", "--model", str(tmp_path / "bad.tar.gz"), str(folder)]) == 2
    assert "not a readable model artifact" in capsys.readouterr().err
