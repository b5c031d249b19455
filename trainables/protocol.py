"""The training protocol's settings: presets and the device options a user may force.

Plain data, no torch: the CLI validates a search's settings against these without importing the
training stack, so a bad flag fails in well under a second.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

PRECISIONS = ("auto", "bf16", "fp32")

COMPILE_CHOICES = ("auto", "on", "off")

# step: lr divided by ``lr_gamma`` at the milestones (the paper); cosine: annealed every epoch
SCHEDULES = ("step", "cosine")


@dataclass(frozen=True)
class TrainingConfig:
    """SGD with momentum and a learning-rate schedule (``trainables.training.learning_rate``):
    ``step`` divides lr by ``lr_gamma`` at ``milestones`` (fractions of ``epochs``, each at least
    one epoch after the one before), ``cosine`` anneals it every epoch.  Weight decay applies to
    conv and linear weights only (the authors' Keras L2 of 1e-4 on kernels is weight decay 2e-4)."""

    epochs: int
    lr: float
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 2e-4
    batch_size: int = 128
    milestones: tuple[float, ...] = (0.5, 0.75)
    lr_gamma: float = 10.0
    schedule: str = "step"

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, TrainingConfig] = {
    # The paper: lr 0.01, /10 at epochs 100 and 150 of 200, batch 128, crop + flip.
    "paper": TrainingConfig(epochs=200, lr=0.01, batch_size=128),
    # Ours: short runs for laptops and tests, same schedule shape, a larger lr to converge fast.
    "quick": TrainingConfig(epochs=10, lr=0.02, batch_size=64, weight_decay=5e-4),
}
