"""Every paper table as a sweep, end to end: the real two-node Ray cluster and MLflow server of conftest, the
digits quickstart shrunk to seconds per trial, all of the table's cells (rows × columns) run, and the report
rebuilt from MLflow alone has exactly the table's rows and columns with our cells filled. Tables whose rows
change the architectures (kd_ctkd_rlkd, frameworks) run the real CIFAR zoo models on the 1-channel digits."""
from __future__ import annotations

import re
import time

import pytest
from platform_helpers import mlflow_client

# conf/preset/tiny.yaml: 256 train / 64 test digits, batch 32, 2 epochs (the agent acts from epoch 1, exploration
# mixes in epoch 2), teachers pretrained for 1 epoch: what is checked is the plumbing, not the accuracy.
SHRINK = ["preset=tiny"]
TABLES = ["exploration", "uncertainty", "calibration", "window", "frameworks", "kd_ctkd_rlkd"]
NUMBER = re.compile(r"^\d+\.\d\d$")


@pytest.mark.parametrize("name", TABLES)
def test_table_sweep_runs_every_cell_and_reports_the_papers_grid(name, tmp_path, infra):
    from rlkd_platform.driver.settings import load_settings
    from rlkd_platform.driver.sweep import run
    from rlkd_platform.report.build import build_report
    from rlkd_platform.report.tables import load_table

    table = load_table(name)
    settings = load_settings([f"out={tmp_path}", f"ablation={name}", *infra["args"], *SHRINK])
    start = time.perf_counter()
    outcome = run(settings)
    print(f"\n[timing] ablation={name}: {len(outcome.trials)} trials in {time.perf_counter() - start:.1f} s")
    assert sorted(t["status"] for t in outcome.trials) == ["FINISHED"] * len(table.cells()), outcome.failed

    # Rebuilt from the tracking server alone (what a second machine would do), not from the sweep's objects.
    report, client, parent = build_report(infra["server"].uri, name, experiment=settings.experiment,
                                          sweep=settings.name)
    rows = report.rows()
    expected = [(row, column) for row in table.rows for column in table.column_names()]
    assert [(r["row"], r["column"]) for r in rows] == expected
    for r in rows:
        assert r["n"] == "1" and NUMBER.match(r["ours best-epoch top-1"]) and NUMBER.match(r["ours last-epoch top-1"])
        paper = table.paper_value(r["row"], r["column"])
        assert r["paper"] == ("?" if paper is None else f"{paper:.2f}")
    assert outcome.report.startswith(report.markdown().splitlines()[0])
    logged = {a.path for a in client.list_artifacts(parent, "report")}
    assert logged == {f"report/table-{name}.{ext}" for ext in ("md", "csv", "png")}

    # Each cell's run carries its row's overrides: the logged config says what the row says.
    from rlkd_platform.tracking.client import flatten

    mlflow = mlflow_client(infra["server"])
    for trial in outcome.trials:
        run_ = mlflow.get_run(trial["run_id"])
        cell = run_.data.tags["rlkd.row"]
        for key, value in flatten(table.cells()[cell]).items():
            assert run_.data.params[key] == value, (cell, key)
        # Analysis beyond the paper: every epoch of a per-instance-T run has its T-vs-uncertainty/entropy-rank figure.
        policy = run_.data.params["policy.name"]
        figures = {a.path for a in mlflow.list_artifacts(trial["run_id"], "analysis")}
        corr = [m.step for m in mlflow.get_metric_history(trial["run_id"], "analysis/corr_T_uncertainty")]
        if policy == "fixed":
            assert figures == set() and corr == []
        else:
            assert figures == {"analysis/temperature_epoch001.png", "analysis/temperature_epoch002.png"}, cell
            assert corr == [1, 2]
