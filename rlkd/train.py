"""``python -m rlkd.train [preset=NAME] key=value ...``: one training run, no Ray.

The same tree and grammar as run_sweep.py (rlkd.compose: conf/train.yaml, presets in conf/preset/):
  python -m rlkd.train                                          # preset=quickstart: embedded digits, minutes on CPU
  python -m rlkd.train preset=short data.root=/path/to/cifar100_npz model.teacher_checkpoint=/path/t.pt
  python -m rlkd.train policy.name=fixed                        # the fixed-T KD baseline
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

from omegaconf import OmegaConf

from rlkd.compose import compose_run
from rlkd.errors import RLKDError

if TYPE_CHECKING:
    import torch


def print_epoch(trainer, record: dict) -> None:
    temp = f" T={record['temp/mean']:.2f}±{record['temp/std']:.2f}" if "temp/mean" in record else ""
    print(f"epoch {record['epoch']:>3}  train acc {record['train/acc']:6.2f}  test acc {record['test/acc']:6.2f}"
          f"  best {record['test/best_acc']:6.2f}{temp}  ({record['epoch_time_s']:.1f}s)", flush=True)


class TerminalProgress:
    """The bar within an epoch on a terminal: steps done/total, images/s, running loss and mean T (tqdm).

    Loss and T are read from the device at most ``refresh_per_second`` times a second, as the means over the steps
    since the last read: the bar adds no host sync per step on a GPU. It is erased at the epoch's end, where
    ``print_epoch`` prints the epoch's line.
    """

    def __init__(self, file: TextIO | None = None, refresh_per_second: float = 4.0) -> None:
        self.file = file if file is not None else sys.stdout
        self.interval = 1.0 / refresh_per_second
        self._bar: Any = None
        self._losses: list[torch.Tensor] = []
        self._temps: list[torch.Tensor] = []
        self._images, self._start, self._last_read = 0, 0.0, float("-inf")

    def start_epoch(self, epoch: int, total_steps: int) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=total_steps, desc=f"epoch {epoch:>3}", unit="step", file=self.file, leave=False,
                         dynamic_ncols=True, mininterval=self.interval)
        self._images, self._start, self._last_read = 0, time.perf_counter(), float("-inf")

    def step(self, images: int, loss: torch.Tensor, temperatures: torch.Tensor) -> None:
        self._images += images
        self._losses.append(loss)
        self._temps.append(temperatures)
        now = time.perf_counter()
        if now - self._last_read >= self.interval:
            self._read(now)
        self._bar.update(1)

    def _read(self, now: float) -> None:
        import torch

        means = torch.stack([torch.stack(self._losses).float().mean(), torch.cat(self._temps).float().mean()])
        loss, temp = means.tolist()  # the one host sync, a few times a second
        self._losses.clear()
        self._temps.clear()
        rate = self._images / max(now - self._start, 1e-9)
        self._bar.set_postfix_str(f"{rate:.0f} img/s, loss {loss:.4f}, T {temp:.2f}", refresh=False)
        self._last_read = now

    def end_epoch(self) -> None:
        if self._bar is None:
            return
        if self._losses:
            self._read(time.perf_counter())
        self._bar.refresh()
        self._bar.close()
        self._bar = None


def terminal_progress(file: TextIO | None = None) -> TerminalProgress | None:
    """A progress bar when ``file`` (stdout) is a terminal; None in logs, pipes and Ray workers (quiet)."""
    file = file if file is not None else sys.stdout
    isatty = getattr(file, "isatty", None)
    return TerminalProgress(file) if isatty is not None and isatty() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rlkd.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default=None,
                        help="same as preset=NAME (conf/preset/: quickstart, short, paper, tiny)")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    parser.add_argument("overrides", nargs="*",
                        help="key=value, e.g. preset=short optim.epochs=5 (keys: --print-config)")
    args = parser.parse_args(argv)
    try:
        cfg = compose_run(([f"preset={args.preset}"] if args.preset else []) + list(args.overrides))
        if args.print_config:
            print(OmegaConf.to_yaml(OmegaConf.structured(cfg)))
            return 0
        from rlkd.trainer import Trainer  # heavy imports only once the config is known to be good

        trainer = Trainer(cfg, callbacks=[print_epoch], progress=terminal_progress())
        if trainer.epoch:
            print(f"resuming {cfg.out_dir}/last.pt after epoch {trainer.epoch}", flush=True)
        summary = trainer.fit()
    except RLKDError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps({"out_dir": cfg.out_dir, **summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
