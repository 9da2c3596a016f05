"""A 3-trial Optuna search over spec section 7's knobs, on the cluster, logged to the real MLflow server."""
from __future__ import annotations

import re

import pytest
from platform_helpers import SEARCH_EPOCHS as EPOCHS
from platform_helpers import history, mlflow_client

SEARCHED = {"agent.clip_eps": (0.1, 0.3), "reward.n": (10, 240), "exploration.lam": (0.5, 1.0),
            "exploration.high_start": (0.0, 0.2), "exploration.partner_start": (0.3, 0.8)}
PER_EPOCH = ["epoch", "train/acc", "test/acc", "test/best_acc", "train/loss", "train/ce", "train/kd", "loss/kd",
             "temp/mean", "temp/std", "ppo/approx_kl", "ppo/clipfrac", "ppo/explained_variance",
             "calib/corrector_loss", "calib/updater_loss"]


def test_search_logs_three_children_under_one_parent(search, infra):
    settings, outcome = search
    client = mlflow_client(infra["server"])
    experiment = client.get_experiment_by_name("search-rlkd")
    assert experiment.experiment_id == outcome.experiment_id
    parent = client.get_run(outcome.parent_run_id)
    assert parent.info.status == "FINISHED" and parent.data.tags["rlkd.role"] == "sweep"
    assert parent.data.metrics["trials/finished"] == 3
    children = client.search_runs([outcome.experiment_id], f"tags.`mlflow.parentRunId` = '{outcome.parent_run_id}'")
    assert len(children) == 3 and {c.info.status for c in children} == {"FINISHED"}
    assert {c.info.run_id for c in children} == {t["run_id"] for t in outcome.trials}


def test_children_carry_the_resolved_config_tags_metrics_and_artifacts(search, infra):
    settings, outcome = search
    client = mlflow_client(infra["server"])
    by_trial = {t["trial_id"]: t for t in outcome.trials}
    hashes, defaults_seen = set(), False
    for run in client.search_runs([outcome.experiment_id], f"tags.`mlflow.parentRunId` = '{outcome.parent_run_id}'"):
        p, tags = run.data.params, run.data.tags
        trial = by_trial[tags["rlkd.trial_id"]]
        for key, (low, high) in SEARCHED.items():  # the sampled value, as Tune gave it to the trial
            assert low <= float(p[key]) <= high and float(p[key]) == pytest.approx(trial["config"][key], abs=0)
        defaults_seen |= (p["agent.clip_eps"], p["reward.n"], p["exploration.lam"]) == ("0.2", "80.0", "0.7")
        assert p["optim.epochs"] == str(EPOCHS) and p["data.name"] == "digits" and p["policy.name"] == "rlkd"
        assert p["model.teacher_pretrain_epochs"] == "5" and "out_dir" not in p  # resolved config, no scratch paths
        assert tags["rlkd.ablation"] == "baseline" and tags["rlkd.row"] == "rlkd" and tags["rlkd.seed"] == "0"
        assert tags["rlkd.search"] == "rlkd" and tags["rlkd.sweep"] == settings.name
        assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?|unknown", tags["rlkd.git_commit"])
        hashes.add(tags["rlkd.config_hash"])
        for key in PER_EPOCH:
            assert [s for s, _ in history(client, run.info.run_id, key)] == list(range(1, EPOCHS + 1)), key
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"config.yaml", "temperature.png"} <= artifacts
    assert defaults_seen, "trial 1 evaluates the paper's defaults"
    assert len(hashes) == 3


def test_asha_stops_weak_trials_and_their_runs_are_closed(tmp_path, infra):
    """ASHA (by epoch) ends some trials early; Tune stops them from outside, the driver closes their runs."""
    from platform_helpers import tiny

    from rlkd_platform.driver.settings import load_settings
    from rlkd_platform.driver.sweep import run

    outcome = run(load_settings([f"out={tmp_path}", "name=asha", "search=rlkd", "trials=4", "asha=true",
                                 "max_concurrent=1", *infra["args"], *tiny(EPOCHS)]))
    client = mlflow_client(infra["server"])
    assert len(outcome.trials) == 4 and not outcome.failed
    stopped = [t for t in outcome.trials if t["epochs"] < EPOCHS]
    assert stopped, "with 4 trials and reduction factor 2, ASHA stops at least one"
    for trial in stopped:
        run_ = client.get_run(trial["run_id"])
        assert run_.info.status == "FINISHED" and run_.data.tags["rlkd.early_stopped"] == "true"
        assert "temperature.png" in {a.path for a in client.list_artifacts(trial["run_id"])}
        assert [s for s, _ in history(client, trial["run_id"], "epoch")] == list(range(1, trial["epochs"] + 1))
