"""Progress of a training run: ``RUN_DIR/train.log`` (the log lines) and ``RUN_DIR/metrics.jsonl`` (one JSON
record per logged step: step, losses, lr, steps/s, ETA; and one per validation: val_ap), plus a tqdm bar.
A resumed run drops the records of steps after its checkpoint and appends."""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

log = logging.getLogger("tracker.train")
METRICS_JSONL, LOG_FILE = "metrics.jsonl", "train.log"


class RunLog:
    def __init__(self, out_dir: Path, start: int, total: int, enabled: bool = True, progress: bool = False):
        self.start, self.total, self.enabled = start, total, enabled
        self.t0 = time.time()
        self.bar = None
        self._handler = None
        if not enabled:
            return
        self.path = Path(out_dir) / METRICS_JSONL
        self._truncate(start)
        self._handler = logging.FileHandler(Path(out_dir) / LOG_FILE)
        self._handler.setFormatter(logging.Formatter("%(asctime)s [%(name)s] %(message)s"))
        log.addHandler(self._handler)
        if log.level == logging.NOTSET or log.level > logging.INFO:
            log.setLevel(logging.INFO)
        if progress:
            from tqdm import tqdm
            self.bar = tqdm(total=total, initial=start, desc=f"training {Path(out_dir).name}", unit="step",
                            mininterval=5.0)

    def _truncate(self, start: int) -> None:
        if not self.path.is_file():
            return
        keep = [ln for ln in self.path.read_text().splitlines() if ln.strip() and json.loads(ln)["step"] < start]
        self.path.write_text("".join(k + "\n" for k in keep))

    def _write(self, rec: dict) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(rec) + "\n")

    def rate(self, done: int) -> float:
        """Steps per second of this process since the run (or the resume) started."""
        return (done - self.start) / max(time.time() - self.t0, 1e-9)

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def step(self, step: int, losses: dict, lr: float) -> dict:
        """Record the losses of step ``step`` (0-based); returns the record."""
        rate = self.rate(step + 1)
        rec = {"step": step, "time_s": round(time.time() - self.t0, 1), "steps_per_s": round(rate, 4),
               "eta_s": round((self.total - step - 1) / max(rate, 1e-9), 1), "lr": lr,
               **{k: round(v, 4) for k, v in losses.items()}}
        if self.enabled:
            self._write(rec)
            if self.bar is not None:
                self.bar.set_postfix(loss=rec["total"], hm=rec["heatmap"])
            else:
                log.info("step %d/%d loss %.4f (%s) %.3f steps/s, ETA %.0f s", step + 1, self.total, rec["total"],
                         ", ".join(f"{k} {rec[k]:.3f}" for k in losses if k != "total"), rate, rec["eta_s"])
        return rec

    def validation(self, step: int, val_ap: dict) -> None:
        if self.enabled:
            self._write({"step": step, "val_ap": val_ap})
            log.info("step %d validation AP@0.5: %s", step + 1, json.dumps(val_ap))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self._handler is not None:
            log.removeHandler(self._handler)
            self._handler.close()
