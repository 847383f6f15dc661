"""HealthMonitor: typed modality status and what /diagnostics says about a silent input."""
from tracker.pipeline.health import ERROR, OK, WARN, Availability, DiagnosticsConfig, HealthMonitor


def _inputs(report):
    return {s.name: s for s in report if s.name.startswith("input ")}


def test_modality_status_is_typed_and_renders_the_diagnostics_text():
    h = HealthMonitor(("color", "thermal", "depth"), DiagnosticsConfig(problem_hold_s=5.0))
    h.silent = frozenset({"thermal"})
    h.problem("depth", "depth image has no valid reading", now=10.0)
    st = h.modality_status(now=11.0)
    assert {k: v.state for k, v in st.items()} == {"color": Availability.OK, "thermal": Availability.SILENT,
                                                    "depth": Availability.DEGRADED}
    assert [str(st[k]) for k in ("color", "thermal", "depth")] == [
        "ok", "silent", "degraded (depth image has no valid reading)"]
    assert h.modality_status(now=16.0)["depth"].state is Availability.OK  # the problem is held 5 s only


def test_silent_rgb_is_an_error_that_says_nothing_is_published():
    h = HealthMonitor(("color", "thermal"))
    h.silent = frozenset({"color", "thermal"})
    rep = _inputs(h.report(now=1.0))
    assert rep["input color"].level == ERROR and "nothing is published" in rep["input color"].message
    assert rep["input thermal"].level == WARN and "left out of the synchronised sets" in rep["input thermal"].message
    assert rep["input thermal"].values["status"] == "silent"


def test_frames_processed_without_a_slower_camera_are_counted_not_warned():
    h = HealthMonitor(("color", "thermal", "depth"))
    h.sync_received, h.sync_unpaired = 90, {"thermal": 63, "depth": 0}
    sync = next(s for s in h.report(now=1.0) if s.name == "synchronizer")
    assert sync.level == OK and sync.values["unpaired_thermal"] == "63" and sync.values["unpaired_depth"] == "0"
    assert "63 without thermal" in sync.message and "depth" not in sync.message
    h.sync_dropped = 30  # message_filters' policy (sync.unmatched: drop) loses frames: that is a warning
    assert next(s for s in h.report(now=1.0) if s.name == "synchronizer").level == WARN
