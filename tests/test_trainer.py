"""End-to-end runs of the trainer on the embedded digits data: determinism, exact resume, every policy."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rlkd.config import build_config
from rlkd.presets import load_preset
from rlkd.train import main
from rlkd.trainer import Trainer

TIMING_KEYS = {"epoch_time_s", "train_time_s"}


def tiny(out_dir: Path, *overrides: str):
    """Quickstart shrunk: agent from epoch 2, exploration in epochs 2–3, teacher trained 2 epochs."""
    return build_config(
        [f"out_dir={out_dir}", "optim.epochs=4", "optim.milestones=[3]", "agent.warmup_epochs=2",
         "model.teacher_pretrain_epochs=2", "reward.n=2", "threads=1", *overrides],
        load_preset("quickstart"),
    )


def without_timing(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in history]


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        if isinstance(sa[key], torch.Tensor):
            assert torch.equal(sa[key], sb[key]), key


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory) -> Trainer:
    trainer = Trainer(tiny(tmp_path_factory.mktemp("straight")))
    trainer.fit()
    return trainer


def test_rlkd_run_trains_the_agent_and_explores(straight_run):
    h = straight_run.history
    assert [r["epoch"] for r in h] == [1, 2, 3, 4]
    assert h[0]["temp/std"] == 0.0 and h[0]["temp/mean"] == 4.0  # warm-up: fixed T
    assert h[1]["temp/std"] > 0 and "ppo/approx_kl" in h[1] and "calib/corrector_loss" in h[1]
    # exploration epochs [e_w, 2e_w) = 2, 3 append ranks [round(.1·1437), round(.2·1437)) = [144, 287): 143 pairs
    assert [r["train/mixed_instances"] for r in h] == [0.0, 143.0, 143.0, 0.0]
    assert h[-1]["test/acc"] > 50.0  # 10-class digits: well above chance after 4 epochs
    assert (Path(straight_run.cfg.out_dir) / "last.pt").exists()


def test_same_seed_gives_identical_temperatures_and_losses(straight_run, tmp_path):
    again = Trainer(tiny(tmp_path / "again"))
    again.fit()
    assert without_timing(again.history) == without_timing(straight_run.history)
    assert_same_weights(again.student, straight_run.student)


def test_resume_continues_exactly_as_an_uninterrupted_run(straight_run, tmp_path):
    first = Trainer(tiny(tmp_path / "resumed", "optim.epochs=2"))
    first.fit()
    del first
    resumed = Trainer(tiny(tmp_path / "resumed"))
    assert resumed.epoch == 2
    resumed.fit()
    assert_same_weights(resumed.student, straight_run.student)
    assert_same_weights(resumed.policy, straight_run.policy)  # agent, C, U, Ê and their optimisers' tensors
    assert without_timing(resumed.history) == without_timing(straight_run.history)


@pytest.mark.parametrize("policy", ["fixed", "ctkd_global", "ctkd_instance"])
def test_baseline_policies_train(policy, tmp_path):
    trainer = Trainer(tiny(tmp_path, f"policy.name={policy}", "optim.epochs=2"))
    before = [p.detach().clone() for p in trainer.policy.student_parameters()]
    trainer.fit()
    assert trainer.history[-1]["test/acc"] > 25.0  # 10 classes: chance is 10 % (teacher trained 2 epochs only)
    after = trainer.policy.student_parameters()
    assert all(not torch.equal(b, a) for b, a in zip(before, after))  # CTKD's temperature is learned


def test_dkd_with_rlkd_runs(tmp_path):
    trainer = Trainer(tiny(tmp_path, "loss.name=dkd", "optim.epochs=2", "agent.warmup_epochs=1"))
    trainer.fit()
    assert {"loss/tckd", "loss/nckd"} <= set(trainer.history[-1])


@pytest.mark.parametrize(
    "args, message",
    [
        (["loss.name=nope"], "unknown loss 'nope'; known:"),
        (["model.student=nope"], "unknown model 'nope'; known:"),
        (["policy.name=nope"], "unknown temperature policy 'nope'; known:"),
        (["data.name=cifar100_npz", "data.root=/no/such/folder"], "/no/such/folder"),
        (["exploration.high_start=0.45"], "overlap"),
        (["agent.clip_eps=0"], "agent.clip_eps"),
    ],
)
def test_cli_bad_input_one_line_and_exit_2(args, message, tmp_path, capsys):
    assert main(["--preset", "quickstart", f"out_dir={tmp_path}", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err


def test_a_diverging_student_stops_the_run_with_one_line(tmp_path):
    """A fixed-T run never shows its logits to an agent: the per-epoch loss check is what stops it."""
    from rlkd.errors import RLKDError

    trainer = Trainer(tiny(tmp_path, "policy.name=fixed", "optim.epochs=1", "optim.lr=1e12", "optim.milestones=[1]"))
    with pytest.raises(RLKDError, match="epoch 1: the training loss is (nan|inf).*lower optim.lr"):
        trainer.fit()


def test_pretrained_teacher_batchnorm_matches_the_training_data(tmp_path):
    """After pretraining, BN running statistics are the training set's (cumulative over one pass), not lagging
    averages: the stem BN's running mean equals the mean of the stem conv's per-batch channel means."""
    from torch.utils.data import DataLoader

    from rlkd.data import build_datasets
    from rlkd.teacher import pretrain

    cfg = tiny(tmp_path, "model.teacher_pretrain_epochs=1", "data.augment=false", "data.train_limit=256")
    data = build_datasets("digits", None, augment=False, train_limit=256)
    teacher = pretrain("digits_cnn_t", 10, data.train, cfg, torch.device("cpu"))
    conv, bn = teacher.stem.conv, teacher.stem.bn
    loader = DataLoader(data.train, batch_size=cfg.data.batch_size, drop_last=True)
    with torch.no_grad():
        means = torch.stack([conv(x).mean(dim=(0, 2, 3)) for x, _, _ in loader])
    torch.testing.assert_close(bn.running_mean, means.mean(0), rtol=1e-4, atol=1e-5)
