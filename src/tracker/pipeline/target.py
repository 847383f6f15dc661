"""The output frame of the tracks (ROS-free): ``output.target_frame`` resolved at each image stamp.

- ``target_frame`` empty: the RGB optical frame (camera_info's frame_id), tracks as the core gives them;
- else ``T_target_color`` is looked up in the transform buffer (tracker.common.tf_buffer) at the image stamp;
- when TF has no path (a frame unknown or not connected) and ``output.T_target_color`` is given in the YAML,
  that static transform is used (source ``static``);
- otherwise (no path and no static transform, an extrapolating lookup, or an RGB camera_info without frame_id)
  the frame is still published, in the RGB optical frame, and the result carries the problem: the node reports
  it on /diagnostics and in a rate-limited log line. No frame is dropped for a missing transform.

Tracks are moved with :func:`track_in`: position and covariance by the full transform, velocity rotated only (a
velocity is a free vector).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from tracker.common.geometry import Transform
from tracker.common.tf import normalize_frame
from tracker.common.tf_buffer import TfBuffer, TfError, TfLookupError

CAMERA, TF, STATIC, FALLBACK = "camera", "tf", "static", "fallback"


@dataclass(frozen=True)
class OutputFrame:
    """Where one frame's tracks are published: ``frame_id``, ``T`` = T_frame_color (None: the RGB optical frame
    itself), ``source`` (camera | tf | static | fallback) and ``problem`` ('' unless it fell back)."""

    frame_id: str
    T: Transform | None
    source: str
    problem: str = ""

    def quat(self) -> tuple[float, float, float, float]:
        """Orientation of the RGB optical axes in the output frame (the boxes' orientation)."""
        return self.T.quat() if self.T is not None else (0.0, 0.0, 0.0, 1.0)


class TargetFrame:
    """Resolves the output frame per stamp. ``static``: the YAML's T_target_color (None when not given)."""

    def __init__(self, target_frame: str, static: Transform | None, tf: TfBuffer):
        self.target = normalize_frame(target_frame)
        self.static = static
        self.tf = tf

    def resolve(self, stamp: float, camera_frame: str) -> OutputFrame:
        camera_frame = normalize_frame(camera_frame)
        if not self.target or self.target == camera_frame:
            return OutputFrame(camera_frame, None, CAMERA)
        if not camera_frame:
            if self.static is not None:
                return OutputFrame(self.target, self.static, STATIC)
            return OutputFrame(camera_frame, None, FALLBACK, f"target frame '{self.target}': the RGB camera_info "
                               "has no frame_id to look it up from; tracks published in the RGB optical frame")
        try:
            return OutputFrame(self.target, self.tf.lookup(self.target, camera_frame, stamp), TF)
        except TfLookupError as e:
            if self.static is not None:
                return OutputFrame(self.target, self.static, STATIC)
            error: TfError = e
        except TfError as e:  # extrapolation: TF knows the frame but not at this time
            error = e
        return OutputFrame(camera_frame, None, FALLBACK, f"target frame '{self.target}' not available ({error}); "
                           f"tracks published in {camera_frame}")


def track_in(track, T: Transform | None):
    """The track (tracker.core.Track) with position, velocity and covariance expressed through T (None: as is)."""
    if T is None or track.position is None:
        return track
    R6 = np.zeros((6, 6))
    R6[:3, :3] = T.R
    R6[3:, 3:] = T.R
    return dataclasses.replace(track, position=T.apply(np.asarray(track.position)),
                               velocity=T.R @ np.asarray(track.velocity),
                               covariance=R6 @ np.asarray(track.covariance) @ R6.T)
