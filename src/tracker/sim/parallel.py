"""Rendering a scenario's cameras in parallel: one worker process (or one thread) per camera.

Worker processes are never forked from the calling process: it may run threads (rclpy executors, DDS, torch or
OpenMP pools, a test runner's helpers), and a fork of a multi-threaded process is undefined behaviour (a forked
worker once crashed with a segmentation fault while collecting garbage). They are started with the
``forkserver`` method (a single-threaded server process, started once per program with the simulator's modules
preloaded, forks them), or ``spawn`` where that is unavailable. Each worker gets, pickled, what it needs to
render its camera as the caller's renderer would (a :class:`~tracker.sim.engine.CameraJob`: the scenario and
the state of the camera's random stream) and the times to render, and sends the frames back in order through a
pipe. As with any ``spawn``/``forkserver`` start, a program that calls the simulator at import time needs the
``if __name__ == "__main__":`` guard.
"""
from __future__ import annotations

import multiprocessing as mp
import signal
import traceback
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import wait

#: start methods for the worker processes, in order of preference (the first one the platform has is used)
START_METHODS = ("forkserver", "spawn")
#: modules the forkserver imports once, so that the workers it forks start without importing them: the
#: simulator and, as by default, the program's main module (the workers would otherwise each import it again)
PRELOAD = ("__main__", "tracker.sim.engine")
_HINT = ("its error, if any, is on stderr above (a program that calls the simulator at import time needs the "
         "`if __name__ == \"__main__\":` guard; render_mode=\"serial\" needs no processes)")
WORKER_EXIT_GRACE_S = 0.5  # a render worker still running this long after the consumer stopped is terminated


def start_method() -> str | None:
    """The start method the worker processes use, None if the platform has none of :data:`START_METHODS`."""
    available = mp.get_all_start_methods()
    return next((m for m in START_METHODS if m in available), None)


def prestart() -> None:
    """Start the forkserver now if the workers use one (a no-op if it runs): it imports the simulator while the
    caller does other work, instead of when the first frame is wanted."""
    if start_method() == "forkserver":
        from multiprocessing import forkserver
        _set_preload(mp.get_context("forkserver"))
        forkserver.ensure_running()


def _set_preload(ctx) -> None:
    ctx.set_forkserver_preload(list(PRELOAD))  # takes effect when this program's forkserver starts


def render_threads(renderer, events: list, lookahead: int):
    """Frames of ``events`` rendered by one thread per camera, yielded in order (``lookahead`` frames ahead)."""
    cams = dict.fromkeys(c for _, c in events)
    pools = {n: ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sim-{n}") for n in cams}
    pending: deque = deque()
    try:
        for t_rel, cam in events:
            pending.append(pools[cam].submit(renderer.render, cam, t_rel))
            if len(pending) > lookahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for f in pending:
            f.cancel()
        for pool in pools.values():
            pool.shutdown(wait=True)


def render_processes(renderer, events: list, method: str):
    """Frames of ``events`` rendered by one worker process per camera (started with ``method``), yielded in
    order. A worker that fails raises its traceback here; one that dies (killed, crashed) raises a
    RuntimeError naming the camera and the exit status, as soon as the frame it owes is needed."""
    ctx = mp.get_context(method)
    if method == "forkserver":
        _set_preload(ctx)
    pipes, procs = {}, {}
    try:
        for cam in dict.fromkeys(c for _, c in events):
            recv, send = ctx.Pipe(duplex=False)
            times = [t for t, c in events if c == cam]
            p = ctx.Process(target=_camera_worker, args=(renderer.camera_job(cam), times, send),
                            name=f"sim-{cam}", daemon=True)
            try:
                p.start()
            except (OSError, EOFError) as e:  # the new process ended during the hand-over
                raise RuntimeError(f"could not start the simulator worker for the {cam} camera ({e}); "
                                   f"{_HINT}") from e
            finally:
                send.close()
            pipes[cam], procs[cam] = recv, p
        for _, cam in events:
            f = _receive(pipes[cam], procs[cam], cam)
            if isinstance(f, _WorkerFailure):
                raise RuntimeError(f"simulator worker for the {cam} camera failed:\n{f.traceback}")
            yield f
    finally:
        for r in pipes.values():
            r.close()
        for p in procs.values():
            p.join(timeout=WORKER_EXIT_GRACE_S)
            if p.is_alive():
                p.terminate()
                p.join()


def _receive(conn, proc, cam: str):
    """The next object from ``proc`` on ``conn``; raises if the process ended without sending it."""
    while True:
        ready = wait([conn, proc.sentinel])
        if conn in ready or conn.poll():
            try:
                return conn.recv()
            except (EOFError, OSError):
                break
        else:  # the process ended and nothing is left in the pipe
            break
    proc.join(timeout=WORKER_EXIT_GRACE_S)
    code = proc.exitcode
    raise RuntimeError(f"simulator worker for the {cam} camera died ({_exit_status(code)}) before sending all "
                       f"its frames{'; ' + _HINT if code is not None and code > 0 else ''}")


def _exit_status(code: int | None) -> str:
    if code is None:
        return "closed its pipe, still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


@dataclass
class _WorkerFailure:
    traceback: str


def _camera_worker(job, times: list, conn) -> None:
    """Worker process: render the camera of ``job`` (a :class:`~tracker.sim.engine.CameraJob`) at ``times`` in
    order and send each frame (stops when the reader goes)."""
    try:
        renderer = job.renderer()
        for t in times:
            conn.send(renderer.render(job.camera, t))
    except (BrokenPipeError, EOFError):
        pass
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises it
        try:
            conn.send(_WorkerFailure(traceback.format_exc()))
        except OSError:
            pass
    finally:
        conn.close()
