"""A two-worker trial on the two-node cluster: it trains, reports, keeps one agent on both ranks, and survives
a Train worker killed with SIGKILL mid-run, resuming from its checkpoint into the same MLflow run."""
from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
import torch
from platform_helpers import history, mlflow_client, tiny

EPOCHS = 4
COMPARED = ["epoch", "train/acc", "train/loss", "test/acc", "test/best_acc", "temp/mean", "temp/std",
            "ppo/approx_kl", "calib/corrector_loss"]


def two_worker_sweep(tmp_path: Path, infra, name: str):
    from rlkd_platform.driver.settings import load_settings
    from rlkd_platform.driver.sweep import run

    settings = load_settings([f"out={tmp_path}", f"name={name}", "workers=2", "max_failures=2", *infra["args"],
                              *tiny(EPOCHS)])
    return settings, run(settings)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, infra):
    start = time.perf_counter()
    settings, outcome = two_worker_sweep(tmp_path_factory.mktemp("ddp"), infra, "ddp-reference")
    return settings, outcome, time.perf_counter() - start


def final_checkpoint(sweep_dir: Path) -> Path:
    """The newest checkpoint folder of the (only) Train run of the sweep."""
    checkpoints = sorted((p for p in (sweep_dir / "train").glob("trial_*/checkpoint_*") if p.is_dir()),
                         key=lambda p: p.stat().st_mtime)
    return checkpoints[-1]


def test_two_worker_trial_trains_and_reports(reference, infra):
    settings, outcome, seconds = reference
    print(f"\n[timing] 2-worker trial sweep: {seconds:.1f} s")
    assert [t["status"] for t in outcome.trials] == ["FINISHED"]
    trial = outcome.trials[0]
    assert trial["epochs"] == EPOCHS and trial["metric"] > 20.0  # 10 classes: above chance
    client = mlflow_client(infra["server"])
    run = client.get_run(trial["run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["rlkd.workers"] == "2"
    assert [s for s, _ in history(client, trial["run_id"], "test/acc")] == list(range(1, EPOCHS + 1))
    # The test set is evaluated once across ranks: the reported accuracy is the saved student's on all 360 images.
    from rlkd.checkpoint import load
    from rlkd.data import build_datasets
    from rlkd.models import build_model

    state = load(final_checkpoint(settings.sweep_dir) / "last.pt")
    student = build_model("digits_cnn_s", num_classes=10)
    student.load_state_dict(state["student"])
    student.eval()
    test = build_datasets("digits").test
    x = torch.stack([test[i][0] for i in range(len(test))])
    y = torch.tensor([test[i][1] for i in range(len(test))])
    with torch.no_grad():
        acc = 100.0 * float((student(x)[0].argmax(1) == y).double().mean())
    assert acc == pytest.approx(history(client, trial["run_id"], "test/acc")[-1][1], abs=1e-9)


def test_agent_weights_identical_across_ranks_after_updates(reference, infra):
    settings, outcome, _ = reference
    client = mlflow_client(infra["server"])
    run_id = outcome.trials[0]["run_id"]
    epochs = list(range(1, EPOCHS + 1))
    kl, clip = history(client, run_id, "ppo/approx_kl"), history(client, run_id, "ppo/clipfrac")
    ev = history(client, run_id, "ppo/explained_variance")
    # The agent learns from epoch 1 on (warm-up 1), so every epoch has its PPO numbers, and they are sane values:
    # approx_kl is a mean of (r − 1) − ln r ≥ 0 terms, > 0 as soon as the policy that learns differs from the one
    # that acted (it always does: each buffer is learned from one step later, after the previous update, and over
    # 5 epochs); clipfrac is a fraction; explained variance is at most 1.
    assert [s for s, _ in kl] == epochs and [s for s, _ in clip] == epochs and [s for s, _ in ev] == epochs
    kl_values, clip_values = [v for _, v in kl], [v for _, v in clip]
    assert torch.isfinite(torch.tensor(kl_values + clip_values + [v for _, v in ev], dtype=torch.float64)).all()
    assert all(v > 0 for v in kl_values), kl_values
    assert all(0.0 <= v <= 1.0 for v in clip_values), clip_values
    assert all(v <= 1.0 for _, v in ev)
    assert [v for _, v in history(client, run_id, "sync/agent_max_abs_diff")] == [0.0] * EPOCHS
    assert [v for _, v in history(client, run_id, "sync/student_max_abs_diff")] == [0.0] * EPOCHS
    # Each rank's own copy of the policy (actor, critic, C, U, Ê), saved by that rank: bit-identical.
    from rlkd.checkpoint import load

    folder = final_checkpoint(settings.sweep_dir)
    rank0, rank1 = load(folder / "rank0.pt")["policy"], load(folder / "rank1.pt")["policy"]
    last = load(folder / "last.pt")
    # What MLflow shows is what rank 0's trainer recorded, epoch by epoch (the agent learned from epoch 1 on).
    assert [r["epoch"] for r in last["history"]] == epochs
    assert [r["ppo/approx_kl"] for r in last["history"]] == pytest.approx(kl_values, rel=1e-12)
    assert [r["ppo/clipfrac"] for r in last["history"]] == pytest.approx(clip_values, rel=1e-12, abs=1e-15)
    tensors = [k for k, v in rank0.items() if isinstance(v, torch.Tensor)]
    assert any(k.startswith("agent.actor") for k in tensors) and any("calibrator" in k for k in tensors)
    for key in tensors:
        assert torch.equal(rank0[key], rank1[key]), key
    # The optimisers agree too (Adam's moments see the all-reduced gradients), and each took one step per update:
    # every learned buffer is update_epochs actor/critic steps and corrector_steps / updater_steps of C / U+Ê.
    agent_cfg, calib_cfg = last["config"]["agent"], last["config"]["calibration"]
    extra0, extra1 = rank0["agent._extra_state"], rank1["agent._extra_state"]
    buffers = []
    for opt, per_buffer in (
        ("actor_opt", agent_cfg["update_epochs"]), ("critic_opt", agent_cfg["update_epochs"]),
        ("corrector_opt", calib_cfg["corrector_steps"]), ("updater_opt", calib_cfg["updater_steps"]),
    ):
        state0, state1 = extra0[opt]["state"], extra1[opt]["state"]
        assert state0.keys() == state1.keys() and len(state0) > 0, opt
        for index, param_state in state0.items():
            for name, value in param_state.items():
                assert torch.equal(value, state1[index][name]), (opt, index, name)
        steps = {float(param_state["step"]) for param_state in state0.values()}
        assert len(steps) == 1, (opt, steps)  # every parameter of one optimiser stepped together
        (step,) = steps
        assert step > 0 and step % per_buffer == 0, (opt, step, per_buffer)
        buffers.append(step // per_buffer)
    assert len(set(buffers)) == 1 and buffers[0] >= EPOCHS, buffers  # one learned-buffer count for all four
    # ...while each rank samples its own actions: the per-rank generators must not be one stream.
    assert not torch.equal(extra0["generator"], extra1["generator"])


def train_worker_pids() -> list[int]:
    from ray.util.state import list_actors

    actors = list_actors(filters=[("class_name", "=", "RayTrainWorker"), ("state", "=", "ALIVE")], detail=True)
    return [a.pid for a in actors]


def test_killed_train_worker_resumes_from_checkpoint_into_same_run(reference, tmp_path, infra):
    """kill -9 one Train worker after epoch 2 was logged: Train restarts the group from the last checkpoint."""
    _, ref_outcome, _ = reference
    client = mlflow_client(infra["server"])
    killed: list[int] = []

    def killer() -> None:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not killed:
            experiment = client.get_experiment_by_name("baseline")
            runs = [] if experiment is None else [
                r for r in client.search_runs([experiment.experiment_id], "tags.`rlkd.sweep` = 'ddp-killed'")
                if r.data.tags.get("rlkd.role") != "sweep"]
            if runs and len(history(client, runs[0].info.run_id, "epoch")) >= 2:
                pids = train_worker_pids()
                if pids:
                    os.kill(pids[-1], signal.SIGKILL)
                    killed.append(pids[-1])
                    return
            time.sleep(0.2)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    start = time.perf_counter()
    _, outcome = two_worker_sweep(tmp_path, infra, "ddp-killed")
    thread.join(timeout=1)
    print(f"\n[timing] 2-worker trial with a killed worker: {time.perf_counter() - start:.1f} s")
    assert killed, "no Train worker was killed"
    assert [t["status"] for t in outcome.trials] == ["FINISHED"]
    run = client.get_run(outcome.trials[0]["run_id"])
    assert run.data.tags.get("rlkd.restarts") == "1"  # reattached once, to the same run
    assert int(run.data.tags["rlkd.resumed_from_epoch"]) >= 1  # from a checkpoint, not from scratch
    ref_run = ref_outcome.trials[0]["run_id"]
    for key in COMPARED:  # every epoch once, and the very numbers of the uninterrupted run
        assert history(client, run.info.run_id, key) == history(client, ref_run, key), key
