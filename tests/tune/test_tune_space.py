from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from pigskin.errors import FormatError, PigskinError
from pigskin.tune.space import builtin_spaces, load_space, parse_space, resolve_space


def test_load_space_types_and_fixed_values(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(
        "lr: {type: float, low: 0.0001, high: 0.1, log: true}\n"
        "batch: {type: int, low: 2, high: 16}\n"
        "network: {type: categorical, choices: [fasterrcnn_mobilenet_v2, yolov3_mobilenet_v2]}\n"
        "augment: {type: float, low: 0.0, high: 1.0, step: 0.25}\n"
        "epochs: 2\n"
    )
    s = load_space(p)
    assert s.names == ["lr", "batch", "network", "augment"]
    assert s.fixed == {"epochs": 2}
    lr, batch, net, aug = s.params
    assert (lr.type, lr.low, lr.high, lr.log) == ("float", 1e-4, 0.1, True)
    assert (batch.type, batch.low, batch.high) == ("int", 2, 16)
    assert net.choices == ("fasterrcnn_mobilenet_v2", "yolov3_mobilenet_v2")
    assert aug.grid_values() == [0.0, 0.25, 0.5, 0.75, 1.0]
    # suggestions stay inside the ranges, through a real Optuna trial
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        v = s.suggest(study.ask())
        assert 1e-4 <= v["lr"] <= 0.1 and 2 <= v["batch"] <= 16 and isinstance(v["batch"], int)
        assert v["augment"] in (0.0, 0.25, 0.5, 0.75, 1.0) and v["network"] in net.choices


@pytest.mark.parametrize(
    "text, where, words",
    [
        ("lr: {type: float, low: 0.1, high: 0.01}\n", "line 1, 'lr'", "must be below"),
        ("a: 1\nlr: {type: float, low: 0, high: 1, log: true}\n", "line 2, 'lr'", "low > 0"),
        ("lr: {type: float, low: 0.1, hgih: 1}\n", "line 1, 'lr'", "unknown key"),
        ("n: {type: int, low: 1.5, high: 4}\n", "line 1, 'n'", "'low' must be an integer"),
        ("c: {type: categorical, choices: []}\n", "line 1, 'c'", "non-empty list"),
        ("x: {type: normal, low: 0, high: 1}\n", "line 1, 'x'", "'type' must be one of"),
        ("x: [1, 2]\n", "line 1, 'x'", "expected a mapping"),
        ("out: {type: int, low: 1, high: 2}\n", "line 1, 'out'", "set by the tuner"),
        ("x: {type: float, low: 0, high: 1, grid: [0.5, 2.0]}\n", "line 1, 'x'", "within [0, 1]"),
    ],
)
def test_bad_entries_name_file_line_and_field(tmp_path: Path, text: str, where: str, words: str) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(FormatError) as e:
        load_space(p)
    assert e.value.path == str(p) and e.value.where == where and words in e.value.message


def test_invalid_yaml_and_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text("lr: {type: float,\n  low: [\n")
    with pytest.raises(FormatError, match="not valid YAML"):
        load_space(p)
    p.write_text("")
    with pytest.raises(FormatError, match="empty"):
        load_space(p)
    with pytest.raises(FormatError, match="nothing to search"):
        parse_space({"epochs": 2})


def test_grid_values_need_discrete_ranges() -> None:
    s = parse_space(
        {
            "lr": {"type": "float", "low": 0.001, "high": 0.1, "grid": [0.001, 0.01, 0.1]},
            "batch": {"type": "int", "low": 2, "high": 10, "step": 4},
            "net": {"type": "categorical", "choices": ["a", "b"]},
        }
    )
    assert s.grid() == {"lr": [0.001, 0.01, 0.1], "batch": [2, 6, 10], "net": ["a", "b"]}
    bare = parse_space({"lr": {"type": "float", "low": 0.001, "high": 0.1}})
    with pytest.raises(PigskinError, match="grid search needs discrete values for 'lr'.*'grid: \\[...\\]'"):
        bare.grid()


def test_contains_checks_type_and_range() -> None:
    s = parse_space(
        {"n": {"type": "int", "low": 1, "high": 4}, "c": {"type": "categorical", "choices": ["a", 1]}}
    )
    n, c = s.params
    assert n.contains(3) and not n.contains(5) and not n.contains(2.5) and not n.contains("3")
    assert c.contains("a") and c.contains(1) and not c.contains("1") and not c.contains(True)


def test_builtin_family_spaces() -> None:
    assert {"fasterrcnn", "yolov3", "detector"} <= set(builtin_spaces())
    frcnn = resolve_space("fasterrcnn")
    assert frcnn.fixed == {"model": "fasterrcnn_mobilenet_v2", "fit-anchors": False}
    assert {"lr", "batch", "image-size", "anchor-sizes", "color-jitter"} <= set(frcnn.names)
    # a space that searches anchor sizes turns off the fitted anchors, which would replace them
    for name in builtin_spaces():
        space = resolve_space(name)
        assert "anchor-sizes" not in space.names or space.fixed.get("fit-anchors") is False, name
    assert "model" in resolve_space("detector").names
    with pytest.raises(PigskinError, match="neither a file nor a built-in space"):
        resolve_space("no-such-space")


def test_builtin_space_keys_are_trainer_flags() -> None:
    """The default entry point is `pigskin train`: every key of a family space must be one of its flags."""
    from pigskin.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    flags = {o for a in sub.choices["train"]._actions for o in a.option_strings}
    for name in builtin_spaces():
        space = resolve_space(name)
        assert {f"--{k}" for k in [*space.names, *space.fixed]} <= flags, name
