"""Search spaces as data: a YAML mapping from hyperparameter name to range.

```yaml
lr: {type: float, low: 0.0001, high: 0.1, log: true}
batch: {type: int, low: 2, high: 16}
model: {type: categorical, choices: [fasterrcnn_mobilenet_v2, yolov3_mobilenet_v2]}
epochs: 2          # a plain value is fixed: passed to every trial, never searched
```

Each name becomes a ``--name value`` argument of the training entry point, so the keys are the
trainer's own flag names. Keeping the space in a file (not code) lets a study be re-run, shared
and diffed, the way SageMaker's ``HyperParameterRanges`` are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from pigskin.errors import FormatError, PigskinError

TYPES = ("float", "int", "categorical")
_KEYS = {
    "float": {"type", "low", "high", "log", "step", "grid"},
    "int": {"type", "low", "high", "log", "step", "grid"},
    "categorical": {"type", "choices"},
}
Scalar = str | int | float | bool


@dataclass(frozen=True)
class Param:
    """One searched hyperparameter. ``grid`` lists the values the grid sampler visits."""

    name: str
    type: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Scalar, ...] = ()
    grid: tuple[Scalar, ...] = ()

    def distribution(self):
        """The Optuna distribution for this parameter (also used to re-map warm-start trials)."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if self.type == "categorical":
            return CategoricalDistribution(list(self.choices))
        if self.type == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log, step=int(self.step or 1))
        return FloatDistribution(self.low, self.high, log=self.log, step=self.step)

    def contains(self, value: object) -> bool:
        """Whether a value (e.g. from an earlier study) lies inside this parameter's range."""
        if self.type == "categorical":
            return any(type(value) is type(c) and value == c for c in self.choices)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.type == "int" and int(value) != value:
            return False
        return self.low <= value <= self.high

    def grid_values(self) -> list[Scalar]:
        """Discrete values for grid search: choices, an explicit ``grid``, or low..high by ``step``."""
        if self.type == "categorical":
            return list(self.choices)
        if self.grid:
            return list(self.grid)
        if self.step:
            n = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
            values = [self.low + i * self.step for i in range(n)]
            return [int(v) for v in values] if self.type == "int" else [round(v, 12) for v in values]
        raise PigskinError(
            f"grid search needs discrete values for '{self.name}' ({self.type} {self.low}..{self.high}): "
            f"give it a 'grid: [...]' list or a 'step' in the space file"
        )


@dataclass(frozen=True)
class SearchSpace:
    """Searched parameters plus fixed ones (passed unchanged to every trial)."""

    params: tuple[Param, ...]
    fixed: dict[str, Scalar] = field(default_factory=dict)
    source: str = "<memory>"

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def distributions(self) -> dict[str, Any]:
        return {p.name: p.distribution() for p in self.params}

    def grid(self) -> dict[str, list[Scalar]]:
        return {p.name: p.grid_values() for p in self.params}

    def suggest(self, trial) -> dict[str, Scalar]:
        """Ask an Optuna trial for one value per parameter, in file order."""
        out: dict[str, Scalar] = {}
        for p in self.params:
            if p.type == "categorical":
                out[p.name] = trial.suggest_categorical(p.name, list(p.choices))
            elif p.type == "int":
                out[p.name] = trial.suggest_int(
                    p.name, int(p.low), int(p.high), step=int(p.step or 1), log=p.log
                )
            else:
                out[p.name] = trial.suggest_float(p.name, p.low, p.high, step=p.step, log=p.log)
        return out


def parse_space(data: Any, source: str = "<memory>", lines: dict[str, int] | None = None) -> SearchSpace:
    """Validate a mapping (already parsed YAML/JSON) into a SearchSpace; errors name the entry."""
    lines = lines or {}

    def where(name: str) -> str:
        return f"line {lines[name]}, '{name}'" if name in lines else f"'{name}'"

    if not isinstance(data, dict) or not data:
        raise FormatError(source, None, "a search space is a non-empty mapping of name -> range")
    params: list[Param] = []
    fixed: dict[str, Scalar] = {}
    for name, spec in data.items():
        if not isinstance(name, str) or not name or name.startswith("-") or any(c.isspace() for c in name):
            raise FormatError(
                source, where(str(name)), "a name must be a flag name like 'lr' or 'weight-decay'"
            )
        if name == "out":
            raise FormatError(source, where(name), "'out' is set by the tuner (each trial's own folder)")
        if isinstance(spec, str | int | float | bool):
            fixed[name] = spec
            continue
        if not isinstance(spec, dict):
            raise FormatError(
                source, where(name), f"expected a mapping like {{type: float, ...}}, got {spec!r}"
            )
        try:
            params.append(_param(name, spec))
        except ValueError as exc:
            raise FormatError(source, where(name), str(exc)) from None
    if not params:
        raise FormatError(source, None, "nothing to search: every entry is a fixed value")
    return SearchSpace(tuple(params), fixed, source)


def _param(name: str, spec: dict) -> Param:
    kind = spec.get("type")
    if kind not in TYPES:
        raise ValueError(f"'type' must be one of {', '.join(TYPES)}, got {kind!r}")
    unknown = set(spec) - _KEYS[kind]
    if unknown:
        raise ValueError(f"unknown key(s) {sorted(unknown)} for type {kind}; allowed: {sorted(_KEYS[kind])}")
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            raise ValueError("'choices' must be a non-empty list")
        if not all(isinstance(c, str | int | float | bool) for c in choices):
            raise ValueError("choices must be strings, numbers or booleans")
        if len(set(map(repr, choices))) != len(choices):
            raise ValueError("choices repeat a value")
        return Param(name, kind, choices=tuple(choices))

    number = int if kind == "int" else (int, float)
    for key in ("low", "high"):
        v = spec.get(key)
        if isinstance(v, bool) or not isinstance(v, number):
            raise ValueError(f"'{key}' must be {'an integer' if kind == 'int' else 'a number'}, got {v!r}")
    low, high = spec["low"], spec["high"]
    if not low < high:
        raise ValueError(f"'low' ({low}) must be below 'high' ({high})")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ValueError(f"'log' must be true or false, got {log!r}")
    if log and low <= 0:
        raise ValueError(f"a log range needs low > 0, got {low}")
    step = spec.get("step")
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, number) or step <= 0:
            raise ValueError(
                f"'step' must be a positive {'integer' if kind == 'int' else 'number'}, got {step!r}"
            )
        if log and kind == "float":
            raise ValueError("a float range cannot have both 'log' and 'step' (Optuna does not allow it)")
        if log and step != 1:
            raise ValueError("an int log range needs step 1")
    grid = spec.get("grid", [])
    if not isinstance(grid, list) or not all(
        isinstance(g, number) and not isinstance(g, bool) and low <= g <= high for g in grid
    ):
        raise ValueError(f"'grid' must be a list of {kind}s within [{low}, {high}], got {grid!r}")
    conv = int if kind == "int" else float
    return Param(
        name,
        kind,
        conv(low),
        conv(high),
        log,
        None if step is None else conv(step),
        grid=tuple(map(conv, grid)),
    )


def load_space(path: str | Path) -> SearchSpace:
    """Read a space file (YAML or JSON); errors name the file, the line and the entry."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"search space {path} does not exist") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise FormatError(path, None, "the file is empty")
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise FormatError(path, f"line {mark.line + 1}" if mark else None, f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    lines = {}
    if isinstance(node, yaml.MappingNode):
        lines = {k.value: k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    return parse_space(data, str(path), lines)


def builtin_spaces() -> list[str]:
    """Names of the default spaces shipped with pigskin, one per model family."""
    folder = resources.files("pigskin.tune") / "spaces"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def resolve_space(spec: str | Path) -> SearchSpace:
    """A path to a space file, or the name of a built-in family space (``fasterrcnn``, ``yolov3``...)."""
    path = Path(spec)
    if path.exists():
        return load_space(path)
    if str(spec) in builtin_spaces():
        with resources.as_file(resources.files("pigskin.tune") / "spaces" / f"{spec}.yaml") as p:
            return load_space(p)
    raise PigskinError(
        f"search space {spec!r} is neither a file nor a built-in space ({', '.join(builtin_spaces())})"
    )
