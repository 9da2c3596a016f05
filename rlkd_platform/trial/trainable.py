"""One trial = one student training run, in the Tune trial's own process or data-parallel over Ray Train workers.

With one worker the ``rlkd.Trainer`` runs right inside the Tune trial: no worker group, no controller, no
second torch import (the fixed cost of a trial is then an actor start). With more, the Tune trial is a thin
driver that launches a ``TorchTrainer`` (Train V2 forbids ``Tuner(trainer)``); Ray Train sets up
torch.distributed (gloo on CPU, nccl on GPU) and the Trainer goes data-parallel by itself: DDP, a
DistributedSampler with set_epoch, metrics all-reduced before they are reported, the test set evaluated once
across ranks, the agent's gradients averaged. Both paths share ``execute``: restore from the last reported
checkpoint, attach the MLflow run, train, and after every epoch log it once and report it with a checkpoint.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rlkd_platform.trial.plan import run_name, trial_config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrialSpec:
    """What every trial of a sweep shares (passed once through the object store by tune.with_parameters)."""

    sweep: str
    base: dict[str, Any]
    rows: dict[str, dict[str, Any]]
    searched: bool
    tags: dict[str, str]  # sweep-level tags: ablation, table, preset, git commit
    tracking_uri: str
    experiment_id: str
    parent_run_id: str
    workers: int
    cpus_per_worker: float
    gpus_per_worker: float
    train_storage: str  # absolute; Ray Train run folders of multi-worker trials
    max_failures: int
    teachers: dict[str, bytes]


class Reporter(Protocol):
    def report(self, metrics: dict[str, Any], checkpoint_dir: Path | None) -> None: ...


class TuneReporter:
    """The in-process path: the Tune session persists the checkpoint before report returns."""

    def report(self, metrics: dict[str, Any], checkpoint_dir: Path | None) -> None:
        from ray import tune

        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(str(checkpoint_dir)) if checkpoint_dir else None)


class TrainReporter:
    """Every rank reports (it is a barrier); Ray Train merges the ranks' checkpoint files into one directory."""

    def report(self, metrics: dict[str, Any], checkpoint_dir: Path | None) -> None:
        import ray.train

        checkpoint = ray.train.Checkpoint.from_directory(str(checkpoint_dir)) if checkpoint_dir else None
        ray.train.report(metrics, checkpoint=checkpoint)


def run_trial(config: dict[str, Any], spec: TrialSpec) -> None:
    """The Tune function trainable."""
    from ray import tune

    trial_id = tune.get_context().get_trial_id()
    if spec.workers == 1:
        execute(config, spec, trial_id, TuneReporter(), tune.get_checkpoint())
    else:
        launch_workers(config, spec, trial_id)


def launch_workers(config: dict[str, Any], spec: TrialSpec, trial_id: str) -> None:
    """Thin driver: a Train run named after the trial, so a restarted trial finds its own checkpoints."""
    import ray.train
    from ray.train.torch import TorchConfig, TorchTrainer
    from ray.tune.integration.ray_train import TuneReportCallback

    gpu = spec.gpus_per_worker > 0
    resources = {"CPU": spec.cpus_per_worker, **({"GPU": spec.gpus_per_worker} if gpu else {})}
    TorchTrainer(
        worker_loop,
        train_loop_config={"config": config, "spec": spec, "trial_id": trial_id},
        scaling_config=ray.train.ScalingConfig(num_workers=spec.workers, use_gpu=gpu, resources_per_worker=resources),
        torch_config=TorchConfig(backend="nccl" if gpu else "gloo"),
        # mypy resolves ray.train.RunConfig to Train V1's (ray.air.config: no logging_config, V1 callbacks);
        # Ray 2.60 rebinds it to Train V2's at import (V2 is on by default), which takes both.
        run_config=ray.train.RunConfig(  # type: ignore[call-arg]
            name=f"trial_{trial_id}", storage_path=spec.train_storage,
            failure_config=ray.train.FailureConfig(max_failures=spec.max_failures),
            checkpoint_config=ray.train.CheckpointConfig(num_to_keep=2),
            logging_config=ray.train.LoggingConfig(log_level="WARNING"),  # INFO echoes every report's metrics
            callbacks=[TuneReportCallback()]),  # type: ignore[list-item]
    ).fit()


def worker_loop(loop_config: dict[str, Any]) -> None:
    """Runs on every Ray Train worker."""
    import ray.train

    _quiet_report_echo()
    execute(loop_config["config"], loop_config["spec"], loop_config["trial_id"], TrainReporter(),
            ray.train.get_checkpoint())


def _quiet_report_echo() -> None:
    """Ray 2.60 logs every report's whole metrics dict at INFO, per rank, under a logger named by its file path,
    which ``LoggingConfig(log_level)`` does not reach; silence just that logger."""
    try:
        from ray.train.v2._internal.execution import context
    except ImportError:  # another Ray version: nothing to silence
        return
    logging.getLogger(context.__file__).setLevel(logging.WARNING)


def execute(config: dict[str, Any], spec: TrialSpec, trial_id: str, reporter: Reporter, checkpoint: Any) -> None:
    from rlkd import distributed
    from rlkd.trainer import Trainer
    from rlkd_platform.trial.checkpoints import apply_rank_state, restore_files
    from rlkd_platform.trial.epoch_hook import EpochHook, make_logger
    from rlkd_platform.trial.runtime_config import runtime_config

    rank = distributed.rank()
    work = Path(tempfile.mkdtemp(prefix=f"rlkd-{trial_id}-rank{rank}-"))
    logger = None
    try:
        row, logical = trial_config(spec.base, spec.rows, config)
        shard = restore_files(checkpoint, work / "run", rank)
        trainer = Trainer(runtime_config(logical, work, spec))
        apply_rank_state(trainer, shard)
        logger = make_logger(rank, spec, trial_id, row, run_name(row, config, spec.searched, trial_id), logical)
        trainer.extra["mlflow_run_id"] = logger.attach(trainer.extra.get("mlflow_run_id"), trainer.epoch)
        hook = EpochHook(logger, reporter, work)
        trainer.callbacks.append(hook)
        if trainer.epoch >= trainer.cfg.optim.epochs and trainer.history:
            hook.announce(trainer)  # restored after the last epoch: tell Tune the final result again
        trainer.fit()
        logger.finish("FINISHED")
    except Exception:
        if logger is not None:
            try:
                logger.finish("FAILED")
            except Exception as err:  # the tracking server may be what failed; keep the original error
                log.warning("could not mark the MLflow run failed: %s", err)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
