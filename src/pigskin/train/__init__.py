"""Training: ``train(TrainConfig) -> model.tar.gz``, checkpoints, data-parallel and SageMaker glue.

``from pigskin.train import train`` imports torch lazily, so the CLI can read SageMaker's settings
(:mod:`pigskin.train.sagemaker`) and tune the process before torch starts.
"""

from typing import Any

from pigskin.config import TrainConfig

__all__ = ["TrainConfig", "train"]


def __getattr__(name: str) -> Any:
    if name == "train":
        from pigskin.train.loop import train

        return train
    raise AttributeError(f"module 'pigskin.train' has no attribute {name!r}")
