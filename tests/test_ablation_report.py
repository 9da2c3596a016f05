"""Ablation tables: every file loads with its cells; a report is rebuilt from a real MLflow store alone."""
from __future__ import annotations

import os

import pytest

from rlkd.errors import RLKDError
from rlkd_platform.report.build import build_report, write_report
from rlkd_platform.report.tables import known_tables, load_table

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

TABLES = ["baseline", "calibration", "exploration", "frameworks", "kd_ctkd_rlkd", "uncertainty", "window"]


def test_one_file_per_ablation():  # the paper's tables and the one-row default
    assert known_tables() == TABLES


@pytest.mark.parametrize("name, cells", [("calibration", 3), ("exploration", 2), ("frameworks", 12),
                                         ("kd_ctkd_rlkd", 36), ("uncertainty", 2), ("window", 6)])
def test_tables_expand_to_row_times_column_cells(name, cells):
    table = load_table(name)
    assert len(table.cells()) == cells == len(table.rows) * len(table.column_names())


def test_paper_values_are_the_readable_ones_only():
    t = load_table("kd_ctkd_rlkd")
    assert (
        t.paper_value("RN110-RN20", "KD"), t.paper_value("RN110-RN20", "+CTKD"), t.paper_value("RN110-RN20", "+RLKD")
    ) == (70.66, 71.08, 71.44)
    assert t.paper_value("RN56-RN20", "+RLKD") is None  # unreadable offline: shown as "?"
    assert t.peer_value("RN56-RN20", "+CTKD") == (71.19, "CTKD README (global CTKD)")
    assert t.cells()["VGG13-MNV2 | +RLKD"] == {"model.teacher": "vgg13", "model.student": "MobileNetV2",
                                               "optim.lr": 0.01, "policy.name": "rlkd"}


def test_unknown_ablation_lists_the_known_ones():
    with pytest.raises(
        RLKDError, match="unknown ablation 'nope'; known: baseline, calibration, exploration, frameworks"
    ):
        load_table("nope")


def log_sweep(uri: str, sweep: str, results: dict[tuple[str, int], tuple[float, float]], status: str = "FINISHED",
              ablation: str = "exploration", data: str = "digits") -> None:
    """A sweep as the platform logs it: a parent run and one tagged child per (cell, seed)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(ablation)
    exp_id = exp.experiment_id if exp else client.create_experiment(ablation)
    tags = {"rlkd.ablation": ablation, "rlkd.sweep": sweep}
    parent = client.create_run(exp_id, run_name=sweep, tags={**tags, "rlkd.role": "sweep"})
    for (cell, seed), (best, last) in results.items():
        run = client.create_run(exp_id, run_name=f"{cell}-seed{seed}", tags={
            **tags, "rlkd.row": cell, "rlkd.seed": str(seed), "mlflow.parentRunId": parent.info.run_id})
        client.log_param(run.info.run_id, "data.name", data)
        client.log_metric(run.info.run_id, "test/best_acc", best, step=2)
        client.log_metric(run.info.run_id, "test/acc", last, step=2)
        client.set_terminated(run.info.run_id, status=status)
    client.set_terminated(parent.info.run_id)


def test_report_from_a_real_store(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    log_sweep(uri, "exploration-quickstart", {
        ("w/ exploration", 0): (90.0, 89.0), ("w/ exploration", 1): (92.0, 90.0),
        ("w/o exploration", 0): (88.0, 88.0), ("w/o exploration", 1): (89.0, 87.0),
        ("w/o exploration", 2): (90.0, 86.0),
    })
    report, client, parent = build_report(uri, "exploration")
    rows = report.rows()
    assert [(r["row"], r["column"]) for r in rows] == [("w/ exploration", "top-1"), ("w/o exploration", "top-1")]
    # mean ± sample std: (90, 92) -> 91.00 ± 1.41 ; (88, 89, 90) -> 89.00 ± 1.00 ; last (89, 90) -> 89.50 ± 0.71
    assert (rows[0]["n"], rows[0]["ours best-epoch top-1"], rows[0]["ours last-epoch top-1"]) == (
        "2", "91.00 ± 1.41", "89.50 ± 0.71"
    )
    assert (rows[1]["n"], rows[1]["ours best-epoch top-1"]) == ("3", "89.00 ± 1.00")
    assert rows[0]["paper"] == "?" and rows[0]["ours − paper"] == ""
    paths = write_report(report, tmp_path / "out", client, parent)
    assert "| w/ exploration | top-1 | 2 | 91.00 ± 1.41 |" in paths["markdown"].read_text()
    assert paths["csv"].read_text().splitlines()[0].startswith("row,column,n,")
    logged = {a.path for a in client.list_artifacts(parent, "report")}
    assert logged == {"report/table-exploration.md", "report/table-exploration.csv", "report/table-exploration.png"}


@pytest.mark.parametrize("data, difference", [("cifar100_npz", "+0.34"), ("digits", "")])
def test_ours_minus_paper_only_on_the_papers_data(tmp_path, data, difference):
    """RN110-RN20 | KD: paper 70.66; ours 71.00 on CIFAR-100 -> +0.34. On the digits no difference is made up."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    log_sweep(uri, "t1", {("RN110-RN20 | KD", 0): (71.0, 70.5)}, ablation="kd_ctkd_rlkd", data=data)
    report, _, _ = build_report(uri, "kd_ctkd_rlkd")
    row = next(r for r in report.rows() if (r["row"], r["column"]) == ("RN110-RN20", "KD"))
    assert (row["paper"], row["ours − paper"]) == ("70.66", difference)
    assert ("no ours − paper is computed" in report.markdown()) == (difference == "")


def test_report_refuses_missing_and_running_sweeps(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with pytest.raises(
        RLKDError, match="no MLflow experiment 'exploration'.*run `python run_sweep.py ablation=exploration`"
    ):
        build_report(uri, "exploration")
    log_sweep(uri, "exploration-quickstart", {("w/ exploration", 0): (90.0, 89.0)}, status="RUNNING")
    with pytest.raises(RLKDError, match="still running.*resume it with the same run_sweep.py command"):
        build_report(uri, "exploration")


def test_report_command_prints_the_table_and_refuses_bad_input(tmp_path, capsys):
    from rlkd_platform.conf import compose_sweep
    from rlkd_platform.report.build import main

    assert compose_sweep([]).sweep.out == "runs/sweeps"  # the report reads where run_sweep.py writes by default
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    log_sweep(
        uri, "exploration-quickstart", {("w/ exploration", 0): (90.0, 89.0), ("w/o exploration", 0): (88.0, 87.5)}
    )
    assert main(["ablation=exploration", f"mlflow.tracking_uri={uri}", f"out={tmp_path}"]) == 0
    printed = capsys.readouterr().out
    assert "| w/ exploration | top-1 | 1 | 90.00 | 89.00 | ? |" in printed
    assert (tmp_path / "reports" / "table-exploration.csv").exists()
    for argv, message in ((["ablation=nope"], "unknown ablation 'nope'"), ([], "say which table: ablation=")):
        assert main([*argv, f"mlflow.tracking_uri={uri}"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and message in err and "\n" not in err
