"""``tracker-eval --jobs N``: bags evaluated by N worker processes at once.

Each bag runs in a fresh process started with ``spawn`` (no rclpy or DDS state is inherited or reused), on the
ROS domain of its worker slot (``ROS_DOMAIN_ID`` = first id + slot, read by rclpy at init and inherited by the
node and player processes of the replay), so parallel replays never see each other. Everything the process
and its native code print goes to ``OUT/logs/<k>_<bag>.log``. Lockstep replays are deterministic, so the results
equal those of ``--jobs 1`` (latencies and wall times aside).

A worker that dies without a result (a crash in native code: Fast DDS has segfaulted once in ~1000 replays
here) is started again on its bag, up to ``eval.parallel.crash_retries`` times, its crashed log kept as
``<k>_<bag>.crash<n>.log``. A bag that still fails, or raises, stops new bags from starting; the running ones
finish, then :class:`WorkerError` names each failed bag, its domain and the tail of its log.
"""
from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import sys
import traceback
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Callable, Sequence

from tracker.common.config import ConfigError

from .config import EvalConfig, ParallelConfig
from .evaluate import BagResult, Replayer, evaluate_bag

DOMAIN_VAR = "ROS_DOMAIN_ID"


class WorkerError(RuntimeError):
    """One or more bags failed in their worker process; the message names them, with their log tails."""


@dataclass(frozen=True)
class BagTask:
    """One bag and the keyword arguments of :func:`tracker.eval.evaluate.evaluate_bag` (picklable)."""
    bag: Path
    kwargs: dict


@dataclass
class _Running:
    index: int
    task: BagTask
    domain: int
    proc: multiprocessing.Process
    result: Path
    log: Path


def domain_ids(first: int, n: int, cfg: ParallelConfig = ParallelConfig()) -> list[int]:
    """The ROS domain ids of ``n`` worker slots; ConfigError beyond ``cfg.max_domain_id``."""
    if n < 1:
        raise ConfigError(f"--jobs must be >= 1, got {n}")
    if first < 0 or first + n - 1 > cfg.max_domain_id:
        raise ConfigError(f"--jobs {n} from ROS_DOMAIN_ID {first} needs domains {first}..{first + n - 1}; "
                          f"allowed 0..{cfg.max_domain_id} (eval.parallel.max_domain_id)")
    return [first + k for k in range(n)]


def _worker(task: BagTask, out_dir: Path, cfg: EvalConfig, replayer: Replayer | None, domain: int,
            result_path: Path, log_path: Path) -> None:
    """A spawned process: evaluate one bag on ``domain``, pickle {"result"} or {"error"} to ``result_path``."""
    os.environ[DOMAIN_VAR] = str(domain)
    with open(log_path, "a", buffering=1) as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        print(f"[tracker-eval worker] {task.bag} on {DOMAIN_VAR}={domain}", flush=True)
        try:
            payload = {"result": evaluate_bag(task.bag, out_dir, cfg, replayer=replayer,
                                              log=lambda s: print(s, flush=True), **task.kwargs)}
        except BaseException as e:  # noqa: BLE001 (reported to the parent with the log)
            traceback.print_exc()
            payload = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.flush()
        sys.stderr.flush()
        tmp = result_path.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(payload))
        os.replace(tmp, result_path)


def _tail(path: Path, n: int) -> str:
    try:
        return path.read_text(errors="replace")[-n:] if n else ""
    except OSError:
        return ""


def _failure(run: _Running, payload: dict | None, cfg: ParallelConfig) -> str:
    why = payload.get("error") if payload else f"worker exited with code {run.proc.exitcode} and no result"
    return (f"bag {run.task.bag} failed (worker on {DOMAIN_VAR}={run.domain}): {why}\n"
            f"--- last {cfg.log_tail_chars} characters of {run.log} ---\n{_tail(run.log, cfg.log_tail_chars)}")


def _start(ctx, index: int, task: BagTask, domain: int, out_dir: Path, cfg: EvalConfig,
           replayer: Replayer | None) -> _Running:
    logs = out_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stem = f"{index:03d}_{task.bag.name}"
    result, log = logs / f"{stem}.result.pkl", logs / f"{stem}.log"
    for p in (result, log):
        p.unlink(missing_ok=True)
    proc = ctx.Process(target=_worker, args=(task, out_dir, cfg, replayer, domain, result, log),
                       name=f"tracker-eval-{stem}")
    proc.start()
    return _Running(index, task, domain, proc, result, log)


def _finish(run: _Running) -> dict | None:
    run.proc.join()
    if not run.result.is_file():
        return None
    payload = pickle.loads(run.result.read_bytes())
    run.result.unlink()
    return payload


def _stop(running: Sequence[_Running], cfg: ParallelConfig) -> None:
    """SIGINT (the replay stops its node and player), then kill after ``stop_timeout_s``."""
    for r in running:
        if r.proc.is_alive():
            os.kill(r.proc.pid, signal.SIGINT)
    for r in running:
        r.proc.join(cfg.stop_timeout_s)
        if r.proc.is_alive():
            r.proc.kill()
            r.proc.join()


def evaluate_parallel(tasks: Sequence[BagTask], out_dir: str | Path, cfg: EvalConfig, jobs: int,
                      first_domain_id: int | None = None, replayer: Replayer | None = None,
                      on_done: Callable[[BagResult], None] | None = None) -> list[BagResult]:
    """Results of ``tasks`` in their order, evaluated by ``jobs`` worker processes; WorkerError on failures."""
    out_dir = Path(out_dir)
    first = cfg.parallel.first_domain_id if first_domain_id is None else first_domain_id
    free = domain_ids(first, max(1, min(jobs, len(tasks))), cfg.parallel)
    ctx = multiprocessing.get_context("spawn")
    pending, running, results, failures = list(enumerate(tasks)), [], {}, []
    crashes: dict[int, int] = {}
    try:
        while pending or running:
            while pending and free and not failures:
                k, t = pending.pop(0)
                running.append(_start(ctx, k, t, free.pop(0), out_dir, cfg, replayer))
            if not running:
                break
            wait([r.proc.sentinel for r in running])
            for r in [r for r in running if not r.proc.is_alive()]:
                running.remove(r)
                free.append(r.domain)
                payload = _finish(r)
                if payload and "result" in payload:
                    results[r.index] = payload["result"]
                    if on_done is not None:
                        on_done(payload["result"])
                elif payload is None and crashes.get(r.index, 0) < cfg.parallel.crash_retries:
                    crashes[r.index] = crashes.get(r.index, 0) + 1
                    kept = r.log.with_name(f"{r.log.stem}.crash{crashes[r.index]}.log")
                    if r.log.is_file():
                        r.log.replace(kept)
                    print(f"tracker-eval: the worker for {r.task.bag} died (exit code {r.proc.exitcode}, log "
                          f"{kept}); starting it again", file=sys.stderr, flush=True)
                    pending.insert(0, (r.index, r.task))
                else:
                    failures.append(_failure(r, payload, cfg.parallel))
    finally:
        _stop(running, cfg.parallel)
    if failures:
        left = f"\n({len(pending)} bag(s) not started)" if pending else ""
        raise WorkerError("\n\n".join(failures) + left)
    return [results[k] for k in range(len(tasks))]
