"""The training engine in-process: config from CLI/SageMaker, the loop, logs, schedule, validation."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import torch

import pigskin.cli
from pigskin.config import ConfigError, ModelConfig, TrainConfig, flat_fields, from_dict, override, to_dict
from pigskin.data.toy import toy_dataset
from pigskin.detections import Detections
from pigskin.errors import PigskinError
from pigskin.models import build_model
from pigskin.models.artifact import load_model
from pigskin.models.small_objects import fit_small_objects
from pigskin.train import sagemaker
from pigskin.train.loop import BACKBONE_PREFIXES, align_classes, lr_at, make_optimizer, train
from pigskin.train.validate import ap50

TINY = {
    "name": "yolov3_darknet53",
    "pretrained": False,
    "width": 0.25,
    "image_size": 96,
    "crop_size": 64,
    "batch": 4,
    "optimizer": "adamw",
    "lr": 2e-3,
    "warmup_steps": 2,
    "progress": False,
}


TINY_MODEL = {"name": "yolov3_darknet53", "pretrained": False, "width": 0.25, "image_size": 96}


def tiny_config(out, **kw) -> TrainConfig:
    return override(TrainConfig(out=str(out)), {**TINY, **kw})


# -- configuration --------------------------------------------------------------------------------


def test_names_are_flat_and_unique_and_values_may_be_strings():
    names = flat_fields(TrainConfig)  # raises if a name were used twice
    assert {"lr", "batch", "epochs", "image_size", "flip", "name"} <= set(names)
    cfg = override(
        TrainConfig(),
        {
            "lr": "0.02",
            "image-size": "640",
            "flip": "0",
            "ema": "true",
            "anchor_sizes": "6,12,24,48,96",
            "epochs": "3.0",
        },
    )
    assert cfg.lr == 0.02 and cfg.model.image_size == 640 and cfg.augment.flip == 0.0 and cfg.ema is True
    assert cfg.model.anchor_sizes == (6, 12, 24, 48, 96) and cfg.epochs == 3
    assert from_dict(TrainConfig, to_dict(cfg)) == cfg  # the artifact's copy reads back equal
    with pytest.raises(ConfigError, match="unknown hyperparameter 'learning_rate'"):
        override(TrainConfig(), {"learning_rate": "0.1"})
    with pytest.raises(ConfigError, match="epochs: expected an integer, got '2.5'"):
        override(TrainConfig(), {"epochs": "2.5"})
    with pytest.raises(ConfigError, match="optimizer: expected sgd or adamw"):
        override(TrainConfig(), {"optimizer": "adam"})


def test_sagemaker_environment(tmp_path):
    channel = tmp_path / "train"
    channel.mkdir()
    (channel / "train.manifest").write_text("{}\n")
    hp = tmp_path / "hyperparameters.json"
    hp.write_text(
        json.dumps(
            {
                "epochs": "5",
                "lr": "0.1",
                "_tuning_objective_metric": "Validation",
                "sagemaker_program": "train.py",
            }
        )
    )
    env = {
        "SM_CHANNEL_TRAIN": str(channel),
        "SM_CHANNEL_VALIDATION": str(tmp_path / "val"),
        "SM_MODEL_DIR": str(tmp_path / "model"),
        "SM_HPS": json.dumps({"lr": 0.05, "model": "yolov3_darknet53"}),
    }
    values = sagemaker.environment(env, hp)
    assert values["data"] == str(channel / "train.manifest")  # a channel of one file means that file
    assert values["val"] == str(tmp_path / "val") and values["out"] == str(tmp_path / "model")
    assert values["epochs"] == "5" and values["lr"] == 0.05  # SM_HPS wins over the file
    assert values["progress"] == "false"
    hp.write_text("{not json")
    with pytest.raises(PigskinError, match="hyperparameters.json"):
        sagemaker.environment(env, hp)


def test_cli_options_sagemaker_style_and_unknown_names(monkeypatch, capsys):
    from pigskin.cli.train import build_config

    monkeypatch.setenv("SM_HPS", json.dumps({"epochs": "7", "batch": "2"}))
    parser = pigskin.cli.build_parser()
    args, extra = parser.parse_known_args(
        [
            "train",
            "--model",
            "ssdlite_mobilenet_v2",
            "--lr",
            "0.02",
            "--image_size",
            "640",
            "--flip",
            "0",
            "--batch",
            "3",
            "--_tuning_objective_metric",
            "Validation",
            "--ema",
        ]
    )
    args.extra = extra
    cfg = build_config(args)
    assert cfg.model.name == "ssdlite_mobilenet_v2" and cfg.lr == 0.02 and cfg.model.image_size == 640
    assert cfg.augment.flip == 0 and cfg.ema is True
    assert cfg.epochs == 7 and cfg.batch == 3  # the command line beats SM_HPS
    assert "ignoring SageMaker's own hyperparameter _tuning_objective_metric" in capsys.readouterr().out
    args, extra = parser.parse_known_args(["train", "--learning-rate", "1"])
    args.extra = extra
    with pytest.raises(ConfigError, match="unknown hyperparameter 'learning-rate'"):
        build_config(args)
    with pytest.raises(SystemExit):
        pigskin.cli.main(["models", "--bogus"])


def test_schedule_warms_up_then_decays():
    cfg = TrainConfig(lr=0.1, warmup_steps=10, min_lr_ratio=0.1)
    lrs = [lr_at(cfg, s, 100) for s in range(101)]
    assert lrs[0] < 0.001 and all(a < b for a, b in zip(lrs[:10], lrs[1:11], strict=True))
    assert lrs[10] == pytest.approx(0.1) and lrs[100] == pytest.approx(0.01)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:], strict=False))
    assert lr_at(cfg, 20, 100, time_fraction=1.0) == pytest.approx(0.01)  # a spent time budget


# -- validation -------------------------------------------------------------------------------------


def test_ap50_overall_and_for_small_balls():
    gts = [
        Detections(np.array([[10, 10, 20, 20]], np.float32), [0]),
        Detections(np.array([[50, 50, 90, 90]], np.float32), [0]),
    ]  # a 10 px and a 40 px ball

    def pred(boxes, scores):
        return Detections(np.array(boxes, np.float32).reshape(-1, 4), [0] * len(scores), scores)

    perfect = [pred([[10, 10, 20, 20]], [0.9]), pred([[50, 50, 90, 90]], [0.8])]
    assert ap50(perfect, gts, 1) == {"ap50": pytest.approx(1.0), "ap50_small": pytest.approx(1.0)}
    # a false positive scored above both balls: precision 2/3 at every recall (COCO's envelope)
    fp_first = [pred([[10, 10, 20, 20], [100, 100, 110, 110]], [0.9, 0.95]), pred([[50, 50, 90, 90]], [0.8])]
    assert ap50(fp_first, gts, 1)["ap50"] == pytest.approx(2 / 3, abs=1e-6)
    missed_small = [pred([], []), pred([[50, 50, 90, 90]], [0.8])]
    scores = ap50(missed_small, gts, 1)
    assert scores["ap50_small"] == 0.0 and scores["ap50"] == pytest.approx(51 / 101, abs=0.01)
    assert math.isnan(ap50([pred([], [])], [Detections.empty()], 1)["ap50"])


def test_validation_classes_are_matched_by_name(tmp_path):
    train = toy_dataset(tmp_path / "a", n=1).replace(classes=["ball", "player"])
    val = toy_dataset(tmp_path / "b", n=2).replace(classes=["player", "ball"])  # id 0 = "player" here
    aligned = align_classes(train, val)
    assert aligned.classes == ["ball", "player"] and aligned[0].detections.class_id.tolist() == [1]
    with pytest.raises(PigskinError, match="class 'referee' is not among the training classes"):
        align_classes(train, val.replace(classes=["referee"]))


# -- the loop ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    ds = toy_dataset(root, n=12, width=128, height=96, ball=(10, 14), empty=2)
    return ds.subset(list(range(0, 10)) + [12]), ds.subset([10, 11, 13])


def test_train_writes_logs_checkpoint_and_an_artifact(tmp_path, toy, capsys):
    train_ds, val_ds = toy
    path = train(tiny_config(tmp_path / "run", epochs=2, ema=True, patience=5), train_ds, val_ds)
    out = capsys.readouterr().out
    assert path == tmp_path / "run" / "model.tar.gz" and path.exists()
    # every epoch prints the SageMaker metric line the tuner's regex reads
    values = re.findall(r"^Validation: ([0-9.]+)$", out, re.MULTILINE)
    assert len(values) == 2 and all(0.0 <= float(v) <= 1.0 for v in values)
    history = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in history] == [1, 2] and all(h["complete"] for h in history)
    assert history[1]["step"] == 2 * 3 and set(history[0]["losses"]) == {
        "xy",
        "wh",
        "objectness",
        "classifier",
    }
    assert [float(v) for v in values] == pytest.approx([h["ap50"] for h in history], abs=1e-4)
    assert (tmp_path / "run" / "checkpoint.pt").exists()
    predictor = load_model(path)
    assert predictor.classes == ["ball"] and predictor.name == "yolov3_darknet53"
    # the anchors were fitted to the training boxes (fit_anchors) and travel in the artifact
    assert predictor.config.anchors == fit_small_objects(train_ds, 96).anchors and "anchors: " in out
    assert predictor.metrics["epochs_trained"] == 2 and len(predictor.metrics["history"]) == 2
    assert predictor.train_config["ema"] is True and predictor.train_config["model"]["image_size"] == 96
    assert len(predictor.predict([val_ds.load_image(val_ds[0])])) == 1

    # running again with the same settings resumes the finished run (nothing left to train) and, as for a
    # run killed between the checkpoint and the metrics file, rewrites the file from the checkpoint ...
    metrics = tmp_path / "run" / "metrics.jsonl"
    metrics.write_text(json.dumps(history[0]) + "\n")
    again = train(tiny_config(tmp_path / "run", epochs=2, ema=True, patience=5), train_ds, val_ds)
    assert again.exists() and "resuming from" in capsys.readouterr().out
    assert [json.loads(line) for line in metrics.read_text().splitlines()] == history
    # ... and a checkpoint made with other learning settings is refused
    with pytest.raises(PigskinError, match=r"other settings \(lr: 0.002 -> 0.01"):
        train(tiny_config(tmp_path / "run", epochs=2, ema=True, lr=0.01), train_ds, val_ds)


def test_the_weight_average_can_start_when_a_run_resumes(tmp_path, toy, capsys):
    train_ds, val_ds = toy
    train(tiny_config(tmp_path / "run", epochs=1), train_ds, val_ds)
    raw = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert raw["ema"] is None
    train(tiny_config(tmp_path / "run", epochs=2, ema=True, ema_decay=0.9), train_ds, val_ds)
    assert "resuming from" in capsys.readouterr().out
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert state["state"]["epoch"] == 2 and state["ema"]["n_averaged"].item() == 3  # one per step
    averaged = {k.removeprefix("module."): v for k, v in state["ema"].items() if k.startswith("module.")}
    moved = [k for k, v in state["model"].items()
             if v.is_floating_point() and not torch.equal(v, averaged[k])]
    assert moved  # the average lags the weights it follows


def test_given_anchors_are_kept_and_fitting_can_be_switched_off(tmp_path, toy):
    train_ds, val_ds = toy
    given = (6.0, 6.0, 9.0, 8.0, 12.0, 12.0)
    short = dict(epochs=1, steps_per_epoch=1)
    kept = train(tiny_config(tmp_path / "given", anchors=given, **short), train_ds, val_ds)
    assert load_model(kept).config.anchors == given
    off = train(tiny_config(tmp_path / "off", fit_anchors=False, **short), train_ds, val_ds)
    assert load_model(off).config.anchors == ()


def test_the_backbone_can_learn_at_a_share_of_the_rate(tmp_path, toy):
    """``backbone_lr`` scales the ImageNet backbone's rate through warm-up and decay; the default keeps
    the two groups checkpoints made before it have."""
    train_ds, val_ds = toy
    train(tiny_config(tmp_path / "run", epochs=1, backbone_lr=0.1), train_ds, val_ds)
    groups = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["optimizer"]["param_groups"]
    heads = [g for g in groups if g["lr_scale"] == 1.0]
    body = [g for g in groups if g["lr_scale"] == 0.1]
    assert len(heads) == len(body) == 2 and 0 < body[0]["lr"] == pytest.approx(0.1 * heads[0]["lr"])
    assert len(make_optimizer(build_model(ModelConfig(**TINY_MODEL)), TrainConfig()).param_groups) == 2
    with pytest.raises(ConfigError, match="backbone_lr"):
        TrainConfig(backbone_lr=0.0)


@pytest.mark.parametrize("name", ["yolov3_mobilenet_v2", "ssdlite_mobilenet_v2", "fasterrcnn_mobilenet_v2",
                                  "heatmap_mobilenet_v2"])
def test_the_backbone_share_reaches_every_family(name):
    """Each family's pretrained layers are found by name (ours under ``body.``, torchvision's under
    ``model.backbone``), and only those: the heads keep the full rate."""
    model = build_model(ModelConfig(name=name, pretrained=False))
    opt = make_optimizer(model, TrainConfig(backbone_lr=0.1))
    scale = {id(p): g["lr_scale"] for g in opt.param_groups for p in g["params"]}
    names = dict(model.named_parameters())
    slow = {n for n, p in names.items() if scale.get(id(p)) == 0.1}
    assert slow and slow == {n for n in names if n.startswith(BACKBONE_PREFIXES)}
    assert len(slow) < len(names)


def test_time_budget_stops_training_and_still_writes_the_artifact(tmp_path, toy, capsys):
    train_ds, val_ds = toy
    path = train(tiny_config(tmp_path / "run", epochs=50, max_minutes=1e-6), train_ds, val_ds)
    out = capsys.readouterr().out
    assert "stopped: time budget" in out and path.exists()
    history = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(history) == 1 and history[0]["step"] == 1 and not history[0]["complete"]


def test_bad_data_is_a_clear_error(tmp_path, toy):
    with pytest.raises(PigskinError, match="no training data"):
        train(tiny_config(tmp_path / "run"))
    empty = toy[0].subset([10])  # the frame without a ball
    with pytest.raises(PigskinError, match="no boxes at all"):
        train(tiny_config(tmp_path / "run"), empty, toy[1])


def test_early_stopping_on_the_validation_metric(tmp_path, toy, capsys):
    train_ds, val_ds = toy
    # a learning rate too small to change anything: AP50 stays where epoch 1 left it
    train(tiny_config(tmp_path / "run", epochs=10, patience=2, lr=1e-9, warmup_steps=0), train_ds, val_ds)
    out = capsys.readouterr().out
    assert "stopped: no better AP50 for 2 epochs" in out
    assert out.count("Validation: ") == 3


def test_init_fine_tunes_from_a_trained_artifact(tmp_path, toy, capsys):
    train_ds, val_ds = toy
    first = train(tiny_config(tmp_path / "a", epochs=1), train_ds, val_ds)
    trained = load_model(first).module.state_dict()
    # --init: the architecture (and width) comes from the artifact; zero epochs = its weights unchanged
    again = train(override(TrainConfig(out=str(tmp_path / "b")),
                           {"init": str(first), "epochs": 1, "lr": 1e-12, "warmup_steps": 0, "crop_size": 64,
                            "batch": 4, "image_size": 96, "progress": False}), train_ds, val_ds)
    assert "init: " in capsys.readouterr().out
    tuned = load_model(again)
    assert tuned.name == "yolov3_darknet53" and tuned.config.width == 0.25
    moved = [k for k, v in tuned.module.state_dict().items()
             if v.is_floating_point() and "running" not in k and not torch.allclose(v, trained[k], atol=1e-4)]
    assert moved == []
    with pytest.raises(PigskinError, match="is a yolov3_darknet53 model, but --model asks for ssdlite"):
        wrong = {"init": str(first), "name": "ssdlite_mobilenet_v2"}
        train(override(TrainConfig(out=str(tmp_path / "c")), wrong), train_ds, val_ds)


def test_load_matching_keeps_what_fits_and_reports_the_rest():
    from torch import nn

    from pigskin.train.loop import load_matching

    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    other = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 5)).state_dict()  # another class count
    fresh = model[1].weight.detach().clone()
    report = load_matching(model, other)
    assert torch.equal(model[0].weight, other["0.weight"]) and torch.equal(model[0].bias, other["0.bias"])
    assert model[1].weight.shape == (2, 4) and torch.equal(model[1].weight, fresh)  # left as it was
    assert report.startswith("2 tensors loaded, 2 start fresh (1.weight, 1.bias")
