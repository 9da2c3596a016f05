"""The policy contract: the trainer asks policies what they need (never their names), their own config nodes,
temperatures accumulated on the device, and RLKD's reward timing worked out by hand with a stub agent."""
from __future__ import annotations

import ast
import math
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
import torch
from torch import nn

from rlkd.config import PolicyConfig, build_config
from rlkd.errors import RLKDError
from rlkd.policies import POLICIES, Step, build_policy
from rlkd.policies.ctkd import CTKDGlobal, CTKDInstance
from rlkd.policies.fixed import FixedTemperature
from rlkd.policies.rlkd import RLKDPolicy

ROOT = Path(__file__).resolve().parents[1]


def string_literals(path: Path) -> set[str]:
    """Every string constant of a module, f-string pieces included (docstrings too)."""
    return {node.value for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def test_the_trainer_never_names_a_policy():
    literals = string_literals(ROOT / "rlkd" / "trainer.py")
    assert POLICIES.names() and not literals & set(POLICIES.names())
    source = (ROOT / "rlkd" / "trainer.py").read_text()
    assert "policy.name !=" not in source and "policy.name ==" not in source and "policy.agent" not in source


@pytest.mark.parametrize(
    "key, cls, per_instance, explores",
    [("fixed", FixedTemperature, False, False), ("ctkd_global", CTKDGlobal, False, False),
     ("ctkd_instance", CTKDInstance, True, False), ("rlkd", RLKDPolicy, True, True)],
)
def test_each_policy_says_what_it_needs(key, cls, per_instance, explores):
    policy = build_policy(build_config([f"policy.name={key}"]), num_classes=10)
    assert type(policy) is cls
    assert (policy.per_instance, policy.uses_exploration) == (per_instance, explores)
    assert (len(policy.student_parameters()) > 0) == key.startswith("ctkd")


def test_rlkd_hands_the_grad_sync_to_its_agent_and_calls_it_when_learning():
    calls: list[int] = []
    policy = build_policy(build_config(["agent.warmup_epochs=0"]), num_classes=3)
    policy.set_grad_sync(lambda params: calls.append(len(list(params))))
    assert policy.agent.grad_sync is not None
    logits = torch.randn(8, 3, generator=torch.Generator().manual_seed(0))
    for _ in range(2):  # the paper signal learns batch 1 at step 2
        policy.temperatures(Step(logits, logits, torch.zeros(8, dtype=torch.long), epoch=1))
    assert calls and all(n > 0 for n in calls)
    for key in ("fixed", "ctkd_global", "ctkd_instance"):  # nothing of their own to sync: a no-op
        build_policy(build_config([f"policy.name={key}"]), num_classes=3).set_grad_sync(lambda params: None)


def test_registry_and_config_schema_agree():
    """Every policy with knobs has its node in PolicyConfig, of its type; every node there belongs to a policy."""
    policy_cfg = build_config().policy
    nodes = set()
    for key in POLICIES.names():
        entry = POLICIES.get(key)
        if entry.config is not None:
            assert isinstance(getattr(policy_cfg, entry.node), entry.config), key
            nodes.add(entry.node)
    assert {f.name for f in fields(PolicyConfig)} - {"name"} == nodes


def test_own_knobs_reach_the_policy_and_switching_the_name_keeps_working():
    base = {"policy": {"name": "ctkd_instance", "fixed": {"temperature": 2.5},
                       "ctkd": {"hidden": 8, "start_temperature": 6.0, "t_min": 2.0, "t_range": 10.0}}}
    fixed = build_policy(build_config(["policy.name=fixed"], base), num_classes=4)
    assert isinstance(fixed, FixedTemperature) and fixed.value == 2.5
    ctkd = build_policy(build_config([], base), num_classes=4)
    assert isinstance(ctkd, CTKDInstance) and ctkd.net[0].out_features == 8
    # θ starts where T = start_temperature: 2 + 10·sigmoid(θ0) = 6
    z = torch.zeros(3, 4)
    temps = ctkd.temperatures(Step(z, z, torch.zeros(3, dtype=torch.long), epoch=1)).detach()
    assert temps.tolist() == pytest.approx([6.0] * 3)
    glob = build_policy(build_config(["policy.name=ctkd_global"], base), num_classes=4)
    assert (glob.t_min == 2.0 and glob.t_range == 10.0
            and float(2 + 10 * torch.sigmoid(glob.theta.detach())) == pytest.approx(6.0))
    assert isinstance(build_policy(build_config(["policy.name=rlkd"], base), num_classes=4), RLKDPolicy)


@pytest.mark.parametrize(
    "override, key",
    [
        (["policy.ctkd.t_min=0"], "policy.ctkd.t_min: must be > 0"),
        (["policy.ctkd.t_range=-1"], "policy.ctkd.t_range: must be > 0"),
        (["policy.ctkd.lambda_epochs=0"], "policy.ctkd.lambda_epochs: must be >= 1"),
        (["policy.ctkd.hidden=0"], "policy.ctkd.hidden: must be >= 1"),
        (["policy.ctkd.start_temperature=30"], "policy.ctkd.start_temperature: must lie inside (t_min, t_min + t_"),
        (["policy.fixed.temperature=0"], "policy.fixed.temperature: must be > 0"),
        (["policy.fixed.nope=1"], "policy.fixed.nope"),
        (["policy.fixed_temperature=4"], "policy.fixed_temperature"),  # the old flat keys are gone
        (["policy.ctkd_t_min=1"], "policy.ctkd_t_min"),
    ],
)
def test_policy_knobs_fail_with_one_line_naming_the_full_key(override, key):
    with pytest.raises(RLKDError) as err:
        build_config(override)
    assert key in str(err.value) and "\n" not in str(err.value)


def test_importing_the_config_does_not_import_torch():
    code = "import sys, rlkd.config; assert 'torch' not in sys.modules, 'torch imported'; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_temperatures_are_summed_on_the_device_and_read_once_per_epoch():
    policy = FixedTemperature(4.0)
    policy.log_temperatures(torch.tensor([1.0, 3.0]))  # mean 2, std 1
    policy.log_temperatures(torch.tensor([2.0, 2.0]))  # mean 2, std 0
    assert isinstance(policy._temp_sums, torch.Tensor) and policy._temp_sums.dtype == torch.float64
    assert policy.epoch_diagnostics() == {"temp/mean": 2.0, "temp/std": 0.5}
    assert policy.epoch_diagnostics() == {}  # reset


# ---- RLKD reward timing (spec 1, 2.1) with a stub agent ---------------------------------------------------------

class StubAgent(nn.Module):
    """Records ``learn(record, reward)``; ``act`` returns T = 1, 2, 3, … for its 1st, 2nd, 3rd, … call."""

    def __init__(self) -> None:
        super().__init__()
        self.acts = 0
        self.learned: list[tuple[int, float]] = []
        self.grad_sync = None

    def act(self, states: torch.Tensor) -> tuple[torch.Tensor, dict[str, int]]:
        self.acts += 1
        return torch.full((len(states),), float(self.acts)), {"batch": self.acts}

    def learn(self, record: dict[str, int], batch_reward: float) -> dict[str, float]:
        self.learned.append((record["batch"], batch_reward))
        return {"reward/batch": batch_reward}


def batch(target: list[int], hits: list[bool]) -> Step:
    """Two classes; the student predicts the target where ``hits`` says so, the other class elsewhere."""
    y = torch.tensor(target)
    predicted = torch.where(torch.tensor(hits), y, 1 - y)
    logits = 5.0 * nn.functional.one_hot(predicted, 2).float()
    return Step(logits, logits, y, epoch=3)


# batch accuracy (paper) and macro accuracy over the classes present (official), worked out by hand:
#   b1: targets 0,0,0,1, hits T,F,F,F -> acc 1/4; class 0: 1/3, class 1: 0/1 -> macro 1/6
#   b2: targets 0,0,0,1, hits T,T,F,T -> acc 3/4; class 0: 2/3, class 1: 1/1 -> macro 5/6
#   b3: targets 0,1,1,1, hits F,T,T,F -> acc 2/4; class 0: 0/1, class 1: 2/3 -> macro 1/3
BATCHES = [([0, 0, 0, 1], [True, False, False, False]), ([0, 0, 0, 1], [True, True, False, True]),
           ([0, 1, 1, 1], [False, True, True, False])]
N = 2.0
W = 1.0 / (1.0 + math.exp(-3 / N))  # w(E) = sigmoid(E / n) at E = 3, n = 2


@pytest.mark.parametrize(
    "signal, expected",
    [
        # paper: r_b = w·(acc_{b+1} − acc_b), learned at step b+1 from batch b's own record
        ("paper", [(1, W * (3 / 4 - 1 / 4)), (2, W * (2 / 4 - 3 / 4))]),
        # official: w·(macro_{b+1} − macro_b) credited to batch b+1's record, learned at once
        ("official", [(2, W * (5 / 6 - 1 / 6)), (3, W * (1 / 3 - 5 / 6))]),
    ],
)
def test_rlkd_reward_timing_by_hand(signal, expected):
    policy = build_policy(build_config(["agent.warmup_epochs=0", f"reward.n={N}", f"reward.signal={signal}"]), 2)
    stub = StubAgent()
    policy.agent = stub
    temps = [policy.temperatures(batch(*b)) for b in BATCHES]
    assert [t.tolist() for t in temps] == [[1.0] * 4, [2.0] * 4, [3.0] * 4]  # the agent's T, unchanged
    assert [b for b, _ in stub.learned] == [b for b, _ in expected]
    # accuracies are float32 on the device (1/4, 3/4, 1/2 exact; 1/6, 5/6 rounded): agree to float32 precision
    assert [r for _, r in stub.learned] == pytest.approx([r for _, r in expected], abs=1e-6)
    if signal == "paper":  # batch 3 waits for batch 4's accuracy, across the checkpoint boundary too
        assert policy.pending["record"] == {"batch": 3} and policy.pending["accuracy"] == pytest.approx(0.5)
    else:
        assert policy.pending is None and policy.prev_accuracy == pytest.approx(1 / 3)
    assert policy.last_temperatures.tolist() == [3.0] * 4
    assert policy.epoch_diagnostics()["reward/batch"] == pytest.approx(sum(r for _, r in expected) / 2)
