"""What a loaded detector is (:class:`DetectorInfo`, from ``Detector.describe()``) and the check that its
classes are the tracker's (:func:`check_class_names`): callers read these instead of the backend's metadata."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from tracker.common.config import ConfigError


def check_class_names(model_names: Sequence[str], tracker_names: Sequence[str]) -> None:
    """Raise ConfigError unless the model's classes are the tracker's, in the same order (the network's class
    index i is ``tracker.class_names[i]``)."""
    model, tracker = tuple(model_names), tuple(tracker_names)
    if model == tracker:
        return
    if sorted(model) == sorted(tracker):
        why = "same names in another order: class indices would map to the wrong names"
    else:
        only_m, only_t = [n for n in model if n not in tracker], [n for n in tracker if n not in model]
        why = f"only in the model: {only_m or 'none'}; only in the tracker config: {only_t or 'none'}"
    raise ConfigError(f"the model's classes {list(model)} differ from the tracker config's class_names "
                      f"{list(tracker)} ({why}); set tracker.class_names to the model's, in its order, or load a "
                      "model trained for these classes")


@dataclass(frozen=True)
class DetectorInfo:
    backend: str                      # backend name: tensorrt, onnxruntime, torch
    device: str                       # what runs it (execution provider, GPU name, ...)
    model_path: str
    class_names: tuple[str, ...]      # index = the network's class id
    input_width: int                  # network input, px
    input_height: int
    stride: int                       # network-input px per output cell
    modalities: tuple[str, ...]       # modalities the model was trained with (rgb, thermal, depth)
    version_hash: str                 # first 16 hex of the model file's SHA-256 (metadata version_hash)
    scores_calibrated: bool = False   # scores are estimated precisions (metadata calibration), else raw
    #: the registration section its training frames were registered with (metadata training.registration;
    #: None when the metadata does not say)
    trained_registration: Mapping[str, Any] | None = None

    @property
    def input_size(self) -> tuple[int, int]:
        """(width, height) px."""
        return self.input_width, self.input_height

    def check_class_names(self, tracker_names: Sequence[str]) -> None:
        check_class_names(self.class_names, tracker_names)

    def summary(self) -> str:
        return (f"{self.backend} on {self.device}, model {self.model_path} [{self.version_hash}], "
                f"{self.input_width}x{self.input_height} px, classes {', '.join(self.class_names)}, "
                f"modalities {', '.join(self.modalities)}, "
                f"{'calibrated scores (precision)' if self.scores_calibrated else 'raw scores'}")
