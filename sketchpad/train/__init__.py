"""Training: configuration, the loop, its event stream, checkpoints, several processes."""

from sketchpad.train.config import TrainConfig, build_config
from sketchpad.train.loop import MODEL_NAME, Trainer, run_training

__all__ = ["MODEL_NAME", "TrainConfig", "Trainer", "build_config", "run_training"]
