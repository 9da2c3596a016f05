"""End-to-end runs of the trainer on the embedded digits data: determinism, exact resume, every policy."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rlkd.compose import compose_run
from rlkd.train import main
from rlkd.trainer import Trainer

TIMING_KEYS = {"epoch_time_s", "train_time_s"}


def tiny(out_dir: Path, *overrides: str):
    """Quickstart shrunk: agent from epoch 2, exploration in epochs 2–3, teacher trained 2 epochs."""
    return compose_run(
        ["preset=quickstart", f"out_dir={out_dir}", "optim.epochs=4", "optim.milestones=[3]", "agent.warmup_epochs=2",
         "model.teacher_pretrain_epochs=2", "reward.n=2", "threads=1", *overrides],
    )


def without_timing(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in history]


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    """Every tensor of the two state dicts is equal; fails when there is no tensor to compare (a vacuous check)."""
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    tensors = [key for key in sa if isinstance(sa[key], torch.Tensor)]
    assert tensors, f"{type(a).__name__} has no tensors: comparing it proves nothing"
    for key in tensors:
        assert torch.equal(sa[key], sb[key]), key


def resumed_run(out_dir: Path, *overrides: str) -> tuple[dict[str, torch.Tensor], Trainer]:
    """Train 2 of 4 epochs, drop the trainer, resume from ``last.pt`` to epoch 4: (the student at 2, the trainer)."""
    first = Trainer(tiny(out_dir, "optim.epochs=2", *overrides))
    first.fit()
    halfway = {k: v.clone() for k, v in first.student.state_dict().items()}
    del first
    resumed = Trainer(tiny(out_dir, *overrides))
    assert resumed.epoch == 2
    resumed.fit()
    return halfway, resumed


def assert_resumed_exactly(halfway: dict[str, torch.Tensor], resumed: Trainer, straight: Trainer) -> None:
    """The resumed run ends where the uninterrupted one does: student weights, every logged metric, the policy."""
    moved = [k for k, v in resumed.student.state_dict().items() if not torch.equal(v, halfway[k])]
    assert moved, "the student did not change after resuming: the comparison below could not fail"
    assert_same_weights(resumed.student, straight.student)
    assert without_timing(resumed.history) == without_timing(straight.history)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3, 4]
    if straight.policy.state_dict():  # a fixed T has no state: the student and metrics above carry the check
        assert_same_weights(resumed.policy, straight.policy)


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
    halfway, resumed = resumed_run(tmp_path / "resumed")
    assert_resumed_exactly(halfway, resumed, straight_run)  # the policy: agent, C, U, Ê and their optimisers
    assert resumed.policy.state_dict().keys() == straight_run.policy.state_dict().keys() != set()


@pytest.mark.parametrize("policy", ["fixed", "ctkd_instance"])
def test_baseline_resume_continues_exactly(policy, tmp_path):
    """Without an agent the resume must still restore the student, its optimiser, scheduler, RNG and entropy."""
    straight = Trainer(tiny(tmp_path / "straight", f"policy.name={policy}"))
    straight.fit()
    halfway, resumed = resumed_run(tmp_path / "resumed", f"policy.name={policy}")
    assert_resumed_exactly(halfway, resumed, straight)
    assert bool(resumed.policy.state_dict()) == (policy != "fixed")  # CTKD's θ-network is state; a fixed T is not


@pytest.mark.parametrize("policy", ["fixed", "ctkd_global", "ctkd_instance"])
def test_baseline_policies_train(policy, tmp_path):
    trainer = Trainer(tiny(tmp_path, f"policy.name={policy}", "optim.epochs=2"))
    before = [p.detach().clone() for p in trainer.policy.student_parameters()]
    trainer.fit()
    assert trainer.history[-1]["test/acc"] > 25.0  # 10 classes: chance is 10 % (teacher trained 2 epochs only)
    after = trainer.policy.student_parameters()
    assert (len(after) > 0) == policy.startswith("ctkd")  # a fixed T has nothing to learn
    assert all(not torch.equal(b, a) for b, a in zip(before, after))  # CTKD's temperature is learned
    temps = [r["temp/mean"] for r in trainer.history]
    assert (temps == [4.0, 4.0]) == (policy == "fixed")  # CTKD starts at T = 4 and moves


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


def test_epoch_sums_are_named_and_reduced_once():
    from rlkd.metrics import EpochSums

    sums, reduced = EpochSums(), []
    sums.add({"loss": torch.tensor(1.5), "correct": torch.tensor(3), "loss/kd": torch.tensor(0.25)})
    sums.add({"loss": torch.tensor(2.0), "correct": torch.tensor(4), "loss/kd": torch.tensor(0.5)})
    total = sums.reduce(reduced.append)
    assert len(reduced) == 1 and reduced[0].dtype == torch.float64  # one all-reduce of one vector
    assert {k: float(v) for k, v in total.items()} == {"loss": 3.5, "correct": 7.0, "loss/kd": 0.75}
    with pytest.raises(ValueError, match="expected the first step's"):
        sums.add({"loss": torch.tensor(1.0)})
    assert EpochSums().reduce(reduced.append) == {} and len(reduced) == 1  # no step: nothing to reduce


@pytest.mark.parametrize("policy", ["fixed", "ctkd_instance"])
def test_a_training_step_reads_nothing_back_from_the_device(policy, tmp_path, monkeypatch):
    """No .item()/float()/bool()/tolist()/.cpu() in the step or the epoch's sums: on a GPU each would wait for the
    device. (RLKD reads its batch accuracy for the reward by design; the progress bar is checked in test_progress.)"""
    from rlkd.metrics import EpochSums

    trainer = Trainer(tiny(tmp_path, f"policy.name={policy}", "optim.epochs=1", "data.train_limit=320"))
    reads: list[str] = []
    inside = [False]
    for name in ("item", "tolist", "__bool__", "__float__", "__int__", "__index__", "cpu", "numpy"):
        original = getattr(torch.Tensor, name)

        def spy(self, *args, _original=original, _name=name, **kwargs):
            if inside[0]:
                reads.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, spy)

    def watched(fn):
        def run(*args, **kwargs):
            inside[0] = True
            try:
                return fn(*args, **kwargs)
            finally:
                inside[0] = False
        return run

    monkeypatch.setattr(trainer, "run_step", watched(trainer.run_step))
    monkeypatch.setattr(EpochSums, "add", watched(EpochSums.add))
    record = trainer.train_epoch(1)
    assert reads == [] and record["train/loss"] > 0
