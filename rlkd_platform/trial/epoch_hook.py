"""What happens after every epoch of a trial, on every rank: check, log once, report with a checkpoint.

Order matters for exactly-once logging: the epoch is logged to MLflow before its checkpoint is reported, and a
restart resumes from the last *reported* checkpoint, so an epoch can re-run but is never lost; the run logger
skips epochs it already holds, so it is never logged twice either.
Data-parallel, it also measures what the design promises: the largest difference between any rank's agent
(actor, critic, C, U, Ê) and rank 0's, and the same for the student (``sync/*``, 0.0 when they are one model).
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch

from rlkd import distributed
from rlkd.config import RunConfig, to_dict
from rlkd_platform.tracking.analysis_plot import correlations, draw_epoch, epoch_points, exploration_windows
from rlkd_platform.tracking.client import config_hash, flatten
from rlkd_platform.tracking.run_logger import NullLogger, RunLogger
from rlkd_platform.tracking.temperature_plot import last_batch_quantiles
from rlkd_platform.trial.checkpoints import capture_rank_state, write_checkpoint_dir

RUNTIME_KEYS = ("out_dir", "resume")  # machine-local, differ per attempt: not params of the run


def max_divergence(module: torch.nn.Module) -> float:
    """max |θ_rank − θ_rank0| over every parameter and rank (a collective: every rank calls it)."""
    params = [p.detach().reshape(-1).double() for p in module.parameters()]
    if not params or not distributed.is_distributed():
        return 0.0
    import torch.distributed as dist

    flat = torch.cat(params)
    reference = flat.clone()
    dist.broadcast(reference, src=0)
    diff = (flat - reference).abs().max().reshape(1)
    dist.all_reduce(diff, op=dist.ReduceOp.MAX)
    return float(diff)


def make_logger(rank: int, spec: Any, trial_id: str, row: str, name: str, logical: RunConfig) -> NullLogger:
    """Rank 0 gets the MLflow writer; the other ranks a logger that does nothing."""
    if rank != 0:
        return NullLogger()
    tree = {k: v for k, v in to_dict(logical).items() if k not in RUNTIME_KEYS}
    tags = {**spec.tags, "rlkd.sweep": spec.sweep, "rlkd.row": row, "rlkd.seed": str(logical.seed),
            "rlkd.config_hash": config_hash(tree), "rlkd.workers": str(spec.workers)}
    from omegaconf import OmegaConf

    return RunLogger(spec.tracking_uri, spec.experiment_id, spec.parent_run_id, trial_id, name, tags,
                     flatten(tree), OmegaConf.to_yaml(OmegaConf.create(tree)))


class EpochHook:
    """A Trainer callback (``fn(trainer, record)``)."""

    def __init__(self, logger: NullLogger, reporter: Any, work: Path) -> None:
        self.logger, self.reporter, self.work = logger, reporter, work

    def metrics(
        self, trainer: Any, record: dict[str, Any], points: dict[str, torch.Tensor] | None = None
    ) -> dict[str, Any]:
        out = dict(record)
        out.update(last_batch_quantiles(trainer.policy))
        if points is not None:
            out.update(correlations(points))
        if trainer.world > 1:
            out["sync/agent_max_abs_diff"] = max_divergence(trainer.policy)
            out["sync/student_max_abs_diff"] = max_divergence(trainer.student)
        return out

    def __call__(self, trainer: Any, record: dict[str, Any]) -> None:
        rank_state = capture_rank_state(trainer) if trainer.world > 1 else None
        points = epoch_points(trainer)
        if points is not None and float(points["temperature"].std()) == 0.0:
            points = None  # a warm-up epoch at one fixed T: nothing to analyse
        metrics = self.metrics(trainer, record, points)
        if points is not None:  # before the epoch's metrics: a re-run epoch overwrites it, a logged one skips it
            epoch = int(record["epoch"])
            self.logger.log_figure(epoch, lambda: draw_epoch(points, epoch, self.logger.run_name or "run",
                                                             exploration_windows(trainer.cfg)),
                                   f"analysis/temperature_epoch{epoch:03d}.png")
        self.logger.log_epoch(metrics)
        directory = write_checkpoint_dir(trainer, trainer.rank, trainer.world, rank_state, self.work)
        try:
            self.reporter.report(metrics, directory)
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def announce(self, trainer: Any) -> None:
        """Report the last epoch again without a checkpoint (the run had already finished training)."""
        metrics = self.metrics(trainer, trainer.history[-1])
        self.logger.log_epoch(metrics)
        self.reporter.report(metrics, None)
