"""A trial's MLflow child run: every rank-zero side effect of a trial goes through this one object.

Exactly-once per epoch across restarts: the run id travels in the checkpoint (``trainer.extra``), and a run
is also found again by its trial-id tag (a trial can die after creating its run but before its first
checkpoint). On reattach the epochs already logged are read back and skipped, so an epoch that re-runs after
a restart (logged, then killed before its checkpoint was reported) is never logged twice. Each epoch's
metrics go in one ``log_batch`` call, so an epoch is either fully logged or not at all.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from rlkd_platform.tracking.client import PARENT_TAG, TRIAL_TAG, client, log_params
from rlkd_platform.tracking.temperature_plot import log_temperature_plot

EPOCH_KEY = "epoch"  # logged with every epoch's batch: its steps are the epochs already logged


class NullLogger:
    """What ranks other than 0 hold: same calls, no side effects."""

    run_id: str | None = None
    run_name: str | None = None

    def attach(self, run_id: str | None, resumed_from: int = 0) -> str | None:
        return run_id

    def log_epoch(self, record: dict[str, Any]) -> None:
        pass

    def log_figure(self, epoch: int, draw_figure: Callable[[], Any], artifact_file: str) -> None:
        pass

    def finish(self, status: str) -> None:
        pass


class RunLogger(NullLogger):
    run_name: str  # always set here (None only on the NullLogger of other ranks)

    def __init__(self, tracking_uri: str, experiment_id: str, parent_run_id: str, trial_id: str, run_name: str,
                 tags: dict[str, str], params: dict[str, str], config_yaml: str) -> None:
        self.client = client(tracking_uri)
        self.experiment_id, self.parent_run_id, self.trial_id = experiment_id, parent_run_id, trial_id
        self.run_name, self.tags, self.params, self.config_yaml = run_name, tags, params, config_yaml
        self.run_id: str | None = None
        self.logged: set[int] = set()

    def _find(self) -> str | None:
        runs = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`{PARENT_TAG}` = '{self.parent_run_id}' and tags.`{TRIAL_TAG}` = '{self.trial_id}'",
            max_results=1, order_by=["attributes.start_time ASC"])
        return runs[0].info.run_id if runs else None

    def attach(self, run_id: str | None, resumed_from: int = 0) -> str:
        """Reattach to ``run_id`` (from the checkpoint) or this trial's run, or create it.

        ``resumed_from``: the epoch the restored checkpoint ended with (0 = started from scratch), kept as a tag.
        """
        from mlflow.entities import RunTag

        run_id = run_id or self._find()
        if run_id is None:
            tags = {**self.tags, PARENT_TAG: self.parent_run_id, TRIAL_TAG: self.trial_id}
            run = self.client.create_run(self.experiment_id, run_name=self.run_name, tags=tags)
            run_id = run.info.run_id
            log_params(self.client, run_id, self.params)
            self.client.log_text(run_id, self.config_yaml, "config.yaml")
        else:
            self.logged = {int(m.step) for m in self.client.get_metric_history(run_id, EPOCH_KEY)}
            self.client.update_run(run_id, status="RUNNING")
            self.client.log_batch(run_id, tags=[RunTag("rlkd.restarts", str(self._restarts(run_id) + 1)),
                                                RunTag("rlkd.resumed_from_epoch", str(resumed_from))])
        self.run_id = run_id
        return run_id

    def _restarts(self, run_id: str) -> int:
        return int(self.client.get_run(run_id).data.tags.get("rlkd.restarts", "0"))

    def log_epoch(self, record: dict[str, Any]) -> None:
        from mlflow.entities import Metric

        epoch = int(record[EPOCH_KEY])
        if self.run_id is None or epoch in self.logged:
            return
        now = int(time.time() * 1000)
        metrics = [Metric(k, float(v), now, epoch) for k, v in record.items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and abs(v) != float("inf")]
        self.client.log_batch(self.run_id, metrics=metrics)
        self.logged.add(epoch)

    def log_figure(self, epoch: int, draw_figure: Callable[[], Any], artifact_file: str) -> None:
        """An epoch's figure as an artifact, drawn only if that epoch is not logged yet."""
        if self.run_id is None or epoch in self.logged:
            return
        self.client.log_figure(self.run_id, draw_figure(), artifact_file)

    def finish(self, status: str) -> None:
        """Attach the temperature plot drawn from the run's whole logged history, then end the run."""
        if self.run_id is None:
            return
        if status == "FINISHED":
            log_temperature_plot(self.client, self.run_id, self.run_name)
        self.client.set_terminated(self.run_id, status=status)
