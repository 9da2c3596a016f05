"""The CLI's progress bar within an epoch: shown on a terminal, quiet elsewhere, and reading the device rarely."""
from __future__ import annotations

import io
import re
from pathlib import Path

from rlkd.compose import compose_run
from rlkd.train import TerminalProgress, main, terminal_progress
from rlkd.trainer import Trainer

TINY = ["preset=quickstart", "optim.epochs=1", "optim.milestones=[1]", "model.teacher_pretrain_epochs=1",
        "data.train_limit=320", "data.test_limit=64", "agent.warmup_epochs=0", "threads=1"]  # 5 steps of 64


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_tiny(out_dir: Path, progress: TerminalProgress | None) -> Trainer:
    trainer = Trainer(compose_run([*TINY, f"out_dir={out_dir}"]), progress=progress)
    trainer.fit()
    return trainer


def test_the_bar_shows_steps_rate_loss_and_temperature(tmp_path):
    screen = FakeTerminal()
    trainer = run_tiny(tmp_path, terminal_progress(screen))
    text = screen.getvalue()
    assert "epoch   1" in text and "5/5" in text  # steps done / total
    assert re.search(r"\d+ img/s", text) and re.search(r"T \d+\.\d\d", text)
    shown = [float(v) for v in re.findall(r"loss (\d+\.\d{4})", text)]
    assert shown and all(0 < v < 10 for v in shown)
    assert trainer.history[0]["train/loss"] > 0


def test_the_bar_reads_the_device_only_when_it_refreshes(tmp_path, monkeypatch):
    reads: list[int] = []
    progress = TerminalProgress(FakeTerminal(), refresh_per_second=1e-6)  # never due again within the run
    original = progress._read
    monkeypatch.setattr(progress, "_read", lambda now: (reads.append(len(progress._losses)), original(now)))
    run_tiny(tmp_path, progress)
    assert reads == [1, 4]  # the first step, then once at the epoch's end for the 4 steps since


def test_no_terminal_no_bar(tmp_path, capsys):
    assert terminal_progress(io.StringIO()) is None  # a pipe or a log file
    assert main([*TINY, f"out_dir={tmp_path}"]) == 0  # pytest's captured stdout is not a terminal
    out = capsys.readouterr().out
    assert "epoch   1  train acc" in out and "img/s" not in out and "5/5" not in out


def test_an_epoch_without_steps_closes_cleanly():
    progress = TerminalProgress(FakeTerminal())
    progress.start_epoch(1, 0)
    progress.end_epoch()
    progress.end_epoch()  # idempotent
