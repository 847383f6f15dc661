"""Simulator worker processes: safe to start from a program that runs threads, same frames as a serial render,
a clear error (and no hang) when a worker dies."""
import faulthandler
import multiprocessing as mp
import os
import random
import signal
import threading
import time

import numpy as np
import pytest

from tracker.sim.config import SimConfig, with_overrides
from tracker.sim.engine import Renderer, Scenario

SMALL = {"color": {"width": 160, "height": 120}, "thermal": {"width": 160, "height": 128},
         "depth": {"width": 160, "height": 120}, "world": {"n_people": 4}}
HANG_GUARD_S = 120  # a test that blocks this long dumps the stacks and ends the test run instead of hanging it

# A worker forked from a process that runs threads inherits their half-done state: undefined behaviour that
# crashed a worker (segfault) now and then. While armed, this hook makes every forked copy of the test process
# exit at once, so that such a start fails every time instead of by chance.
_FORKED_COPY_EXIT = 70
_forks_crash = threading.Event()


def _exit_if_forked_while_armed():
    if _forks_crash.is_set():
        os._exit(_FORKED_COPY_EXIT)


os.register_at_fork(after_in_child=_exit_if_forked_while_armed)


def _scenario(seconds=0.6, seed=5):
    return Scenario(with_overrides(SimConfig(), SMALL), seconds + 0.4, seed)


def _assert_same_frames(a, b):
    assert [(f.camera, f.stamp) for f in a] == [(f.camera, f.stamp) for f in b]
    for x, y in zip(a, b):
        assert x.encoding == y.encoding and x.image.dtype == y.image.dtype and np.array_equal(x.image, y.image)
        assert (x.gt is None) == (y.gt is None)
        if x.gt is not None:
            assert [(o.id, o.box2d, o.visibility, tuple(o.center3d)) for o in x.gt] == \
                   [(o.id, o.box2d, o.visibility, tuple(o.center3d)) for o in y.gt]


@pytest.fixture
def hang_guard():
    faulthandler.dump_traceback_later(HANG_GUARD_S, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def live_threads(tmp_path, monkeypatch):
    """A running rclpy executor (a node publishing to itself on a timer) and a busy Python thread that keeps
    allocating (and the garbage collector running)."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from std_msgs.msg import String

    monkeypatch.setenv("ROS_LOG_DIR", str(tmp_path))
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=random.randint(1, 200))
    node = rclpy.create_node("sim_worker_test", context=ctx)
    pub = node.create_publisher(String, "chatter", 10)
    received = []
    node.create_subscription(String, "chatter", received.append, 10)
    node.create_timer(0.01, lambda: pub.publish(String(data="x" * 256)))
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(node)
    stop = threading.Event()

    def busy():
        while not stop.is_set():
            junk = [{"k": [i] * 8} for i in range(500)]
            junk.append(junk)  # a cycle: work for the garbage collector
    threads = [threading.Thread(target=ex.spin, daemon=True, name="rclpy-spin"),
               threading.Thread(target=busy, daemon=True, name="busy")]
    for t in threads:
        t.start()
    try:
        yield threads, received
    finally:
        stop.set()
        ex.shutdown(timeout_sec=5)
        node.destroy_node()
        rclpy.shutdown(context=ctx)
        for t in threads:
            t.join(timeout=10)


@pytest.fixture
def reference():
    """A scenario and its frames rendered one by one (before any test thread starts)."""
    sc = _scenario()
    return sc, list(Renderer(sc).render_events(sc.events, mode="serial"))


def test_workers_started_from_a_process_with_live_threads_render_the_serial_frames(reference, live_threads,
                                                                                   hang_guard):
    sc, serial = reference
    threads, received = live_threads
    _forks_crash.set()
    try:
        assert all(t.is_alive() for t in threads)
        parallel = list(Renderer(sc).render_events(sc.events, mode="processes"))
        assert all(t.is_alive() for t in threads)
    finally:
        _forks_crash.clear()
    assert received, "the executor thread was not running"
    _assert_same_frames(serial, parallel)


def test_workers_continue_the_renderers_noise_streams():
    """Workers start from the renderer's current state: after frames rendered one by one, a processes render
    of the rest equals continuing one by one."""
    sc = _scenario()
    head, tail = sc.events[:5], sc.events[5:]
    a, b = Renderer(sc), Renderer(sc)
    for r in (a, b):
        list(r.render_events(head, mode="serial"))
    _assert_same_frames(list(a.render_events(tail, mode="serial")), list(b.render_events(tail, mode="processes")))


def test_a_worker_that_dies_raises_a_clear_error_and_leaves_no_workers(hang_guard):
    sc = _scenario(seconds=1.5)
    frames = Renderer(sc).render_events(sc.events, mode="processes")
    next(frames)  # the workers run; each is at most a few frames ahead (its pipe is full)
    (thermal,) = [p for p in mp.active_children() if p.name == "sim-thermal"]
    os.kill(thermal.pid, signal.SIGKILL)
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=r"thermal camera died \(killed by SIGKILL\)"):
        for _ in frames:
            pass
    assert time.monotonic() - t0 < HANG_GUARD_S / 2
    assert not [p for p in mp.active_children() if p.name.startswith("sim-")]
