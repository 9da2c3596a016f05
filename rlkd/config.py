"""Typed configuration of one training run. Defaults are the paper's (spec sections 1–7).

Every field carries a one-line why. Ranges are checked when the config is built (``__post_init__``), with
a message naming the key, so a bad value fails before any data is loaded. ``…=official`` values select the
official code's behaviour where it disagrees with the paper (listed in the README).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from omegaconf import OmegaConf

from rlkd.errors import RLKDError, require
from rlkd.policies.configs.ctkd import CTKDConfig
from rlkd.policies.configs.fixed import FixedConfig

TEACHER_PLACEHOLDER = "{teacher}"


class Choice(str, Enum):
    """A closed set of string values of the config (``calibration.mode=none``).

    Member names equal their values because OmegaConf looks members up by name: YAML and CLI values parse as
    they are written. str-valued, so a member prints, logs, hashes into tags and JSON-dumps as its value.
    """

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


ChoiceT = TypeVar("ChoiceT", bound=Choice)


def _choice(value: Any, key: str, choices: type[ChoiceT]) -> ChoiceT:
    """``value`` as a member of ``choices`` (configs built in code may pass the plain string)."""
    try:
        return choices(value)
    except ValueError:
        raise RLKDError(f"{key}: '{value}' is not one of {', '.join(m.value for m in choices)}") from None


class Device(Choice):
    """``device``: where the run trains."""

    auto = "auto"  # cuda when available, else cpu
    cpu = "cpu"
    cuda = "cuda"


class StateMode(Choice):
    """``agent.state``: what the agent observes of an instance."""

    paper = "paper"  # (max p_t, max p_s, 1 − (p_s(1) − p_s(2)))
    no_uncertainty = "no_uncertainty"  # the ablation without the uncertainty score
    official = "official"  # the official code's third entry (kthvalue(2) bug)


class LogProb(Choice):
    """``agent.logprob``: where the action's log-density is evaluated."""

    paper = "paper"  # the pre-squash action
    official = "official"  # T itself, as the official code does


class RewardSignal(Choice):
    """``reward.signal``: the accuracy difference and which batch it is credited to."""

    paper = "paper"  # batch accuracy; batch b's reward is known at step b+1
    official = "official"  # macro-averaged accuracy, credited to batch b+1 itself


class RewardScale(Choice):
    """``reward.scale``: the epoch-dependent factor of the batch reward."""

    paper = "paper"  # sigmoid warm-up w(E)
    official = "official"  # piecewise cosine multiplier


class CalibrationMode(Choice):
    """``calibration.mode``: which of C, U and Ê calibrate the batch reward."""

    none = "none"  # sparse reward, identity state
    corrector = "corrector"  # C only
    full = "full"  # C, U and Ê (the paper)
    official = "official"  # the official code's linear C and L1-only U


class RecurrentCell(Choice):
    """``calibration.cell``: C's recurrent cell."""

    lstm = "lstm"
    gru = "gru"


class LamSchedule(Choice):
    """``exploration.lam_schedule``: the mixup weight of each pair."""

    paper = "paper"  # λ for every pair
    official = "official"  # λ_j from 1.0 down to λ by rank


class MixTarget(Choice):
    """``exploration.target``: the CE target of a mixed instance."""

    paper = "paper"  # λ·y_hi + (1 − λ)·y_partner
    official = "official"  # the partner's own label


class ExplorationSchedule(Choice):
    """``exploration.schedule``: the epochs that explore."""

    paper = "paper"  # [e_w, 2·e_w), rebuilt each epoch
    official = "official"  # every 20 epochs from epoch 40 on


@dataclass
class DataConfig:
    name: str = "digits"  # registry key: digits (embedded), cifar100, cifar100_npz, imagenet
    root: str | None = None  # folder with the user's data; digits needs none
    download: bool = False  # torchvision CIFAR-100 only; off because runs must work offline
    train_limit: int | None = None  # first k training images (class-balanced prefix for cifar100_npz)
    test_limit: int | None = None  # first k test images; None = the full test set
    augment: bool = True  # the recipe's crop + flip
    batch_size: int = 64  # spec 6
    eval_batch_size: int = 256  # evaluation only; larger is faster and changes no result
    num_workers: int = 0  # DataLoader workers; 0 keeps runs exactly reproducible on any machine

    def __post_init__(self) -> None:
        require(self.batch_size >= 2, "data.batch_size", "must be >= 2 (PPO normalises advantages per batch)")
        require(self.eval_batch_size >= 1, "data.eval_batch_size", "must be >= 1")
        require(self.num_workers >= 0, "data.num_workers", "must be >= 0")
        for key in ("train_limit", "test_limit"):
            v = getattr(self, key)
            require(v is None or v > 0, f"data.{key}", "must be a positive number of images or null")


@dataclass
class ModelConfig:
    teacher: str = "digits_cnn_t"  # zoo key (rlkd.models)
    student: str = "digits_cnn_s"  # zoo key (rlkd.models)
    # Local weights file; None = train the teacher first (quickstart). "{teacher}" in it is replaced by the
    # teacher's zoo key, so one value serves a table whose rows change the teacher (/w/{teacher}_vanilla/ckpt.pth).
    teacher_checkpoint: str | None = None
    teacher_pretrain_epochs: int = 30  # only when teacher_checkpoint is None

    def __post_init__(self) -> None:
        require(self.teacher_pretrain_epochs >= 1, "model.teacher_pretrain_epochs", "must be >= 1")

    def teacher_checkpoint_path(self) -> str | None:
        """The teacher's weights file with ``{teacher}`` filled in (None: the teacher is trained first)."""
        if not self.teacher_checkpoint:
            return None
        return str(Path(self.teacher_checkpoint.replace(TEACHER_PLACEHOLDER, self.teacher)).expanduser())


@dataclass
class OptimConfig:
    epochs: int = 240  # spec 6
    lr: float = 0.05  # 0.01 for MobileNetV2 / ShuffleV1 / ShuffleV2
    momentum: float = 0.9
    weight_decay: float = 5e-4
    milestones: list[int] = field(default_factory=lambda: [150, 180, 210])  # lr ×gamma at each
    gamma: float = 0.1

    def __post_init__(self) -> None:
        require(self.epochs >= 1, "optim.epochs", "must be >= 1")
        require(self.lr > 0, "optim.lr", "must be > 0")
        require(0 <= self.momentum < 1, "optim.momentum", "must be in [0, 1)")
        require(self.weight_decay >= 0, "optim.weight_decay", "must be >= 0")
        require(0 < self.gamma <= 1, "optim.gamma", "must be in (0, 1]")
        require(list(self.milestones) == sorted(self.milestones), "optim.milestones", "must be increasing")


@dataclass
class LossConfig:
    name: str = "kd"  # registry key: kd, dkd, pkt, sp, vid, crd, srrl, rkd
    params: dict[str, Any] = field(default_factory=dict)  # the loss's own knobs (e.g. dkd beta)
    ce_weight: float | None = None  # None = the framework's recipe weight
    kd_weight: float | None = None  # None = the framework's recipe weight

    def __post_init__(self) -> None:
        for key in ("ce_weight", "kd_weight"):
            v = getattr(self, key)
            require(v is None or v >= 0, f"loss.{key}", "must be >= 0 or null")


@dataclass
class AgentConfig:
    """The PPO agent (spec sections 1 and 4)."""

    state: StateMode = StateMode.paper  # paper | no_uncertainty (ablation) | official (kthvalue(2) bug)
    logprob: LogProb = LogProb.paper  # paper: density of the pre-squash action | official: density evaluated at T
    hidden: int = 256  # actor and critic MLP width
    init_log_std: float = -0.5
    max_temperature: float = 10.0  # T = max_temperature · sigmoid(a)
    clip_eps: float = 0.2  # PPO clip ε (searched in [0.1, 0.3])
    gamma: float = 0.99  # GAE discount over the batch sequence
    gae_lambda: float = 0.95
    actor_lr: float = 1e-4
    critic_lr: float = 1e-3
    update_epochs: int = 5  # for both actor and critic
    max_grad_norm: float = 2.0
    train_every: int = 1  # 1 = learn on every batch; 20 = the official schedule (epochs 20, 40, …)
    warmup_epochs: int = 20  # e_w: fixed temperature before it, agent from it on
    warmup_temperature: float = 4.0  # 8 in the official ResNet-110→20 config

    def __post_init__(self) -> None:
        self.state = _choice(self.state, "agent.state", StateMode)
        self.logprob = _choice(self.logprob, "agent.logprob", LogProb)
        require(self.clip_eps > 0, "agent.clip_eps", "must be > 0 (searched range 0.1–0.3)")
        require(0 < self.gamma <= 1, "agent.gamma", "must be in (0, 1]")
        require(0 <= self.gae_lambda <= 1, "agent.gae_lambda", "must be in [0, 1]")
        require(self.hidden >= 1, "agent.hidden", "must be >= 1")
        require(self.max_temperature > 0, "agent.max_temperature", "must be > 0")
        require(self.actor_lr > 0 and self.critic_lr > 0, "agent.actor_lr/critic_lr", "must be > 0")
        require(self.update_epochs >= 1, "agent.update_epochs", "must be >= 1")
        require(self.max_grad_norm > 0, "agent.max_grad_norm", "must be > 0")
        require(self.train_every >= 1, "agent.train_every", "must be >= 1")
        require(self.warmup_epochs >= 0, "agent.warmup_epochs", "must be >= 0")
        require(self.warmup_temperature > 0, "agent.warmup_temperature", "must be > 0")


@dataclass
class RewardConfig:
    """Batch reward r_b = w(E)·(acc_{b+1} − acc_b) (spec 2.1)."""

    n: float = 80.0  # warm-up w(E) = sigmoid(E / n) (searched in [10, 240], log scale)
    signal: RewardSignal = RewardSignal.paper  # paper | official (macro-averaged accuracy, credited one batch late)
    scale: RewardScale = RewardScale.paper  # paper (sigmoid warm-up) | official (piecewise cosine multiplier)

    def __post_init__(self) -> None:
        require(self.n > 0, "reward.n", "must be > 0 (searched range 10–240)")
        self.signal = _choice(self.signal, "reward.signal", RewardSignal)
        self.scale = _choice(self.scale, "reward.scale", RewardScale)


@dataclass
class CalibrationConfig:
    """Instance reward calibration (spec 2.2)."""

    mode: CalibrationMode = CalibrationMode.full  # none | corrector | full | official
    cell: RecurrentCell = RecurrentCell.lstm  # C's cell: lstm | gru (LSTM: oneDNN backward on CPU, 8x faster here)
    hidden: int = 32  # C's hidden size (16–64)
    alpha: float = 1.0  # weight of the final-step loss (Ĝ_B − r_b)²
    beta: float = 0.5  # weight of the per-step auxiliary loss
    corrector_steps: int = 3  # Adam steps of C per buffer, every batch (official: 9, in its RL epochs only)
    updater_steps: int = 3  # Adam steps of U and Ê per buffer, every batch (official: 10)
    lr: float = 1e-3

    def __post_init__(self) -> None:
        self.mode = _choice(self.mode, "calibration.mode", CalibrationMode)
        self.cell = _choice(self.cell, "calibration.cell", RecurrentCell)
        require(self.hidden >= 1, "calibration.hidden", "must be >= 1")
        require(self.alpha >= 0 and self.beta >= 0, "calibration.alpha/beta", "must be >= 0")
        require(self.corrector_steps >= 0 and self.updater_steps >= 0, "calibration.*_steps", "must be >= 0")
        require(self.lr > 0, "calibration.lr", "must be > 0")


@dataclass
class ExplorationConfig:
    """Efficient exploration: high-entropy instances mixed into the agent's early training (spec 5)."""

    enabled: bool = True  # false = the paper's "w/o exploration" row
    high_start: float = 0.1  # high-entropy window [start, start + width) of the entropy ranking
    partner_start: float = 0.4  # partner window start (official code: 0.8)
    width: float = 0.1
    lam: float = 0.7  # mixup weight of the high-entropy instance (searched in [0.5, 1.0])
    lam_schedule: LamSchedule = LamSchedule.paper  # paper: λ for every pair | official: λ_j from 1.0 down to lam
    target: MixTarget = MixTarget.paper  # paper: CE target λ·y_hi + (1−λ)·y_partner | official: the partner's label
    schedule: ExplorationSchedule = ExplorationSchedule.paper  # paper: epochs [e_w, 2·e_w) | official: every 20

    def __post_init__(self) -> None:
        require(0 < self.width <= 0.5, "exploration.width", "must be in (0, 0.5]")
        for key in ("high_start", "partner_start"):
            start = getattr(self, key)
            require(
                0 <= start and start + self.width <= 1 + 1e-9,
                f"exploration.{key}",
                f"window [{start}, {start + self.width}) must lie inside [0, 1]",
            )
        lo, hi = sorted((self.high_start, self.partner_start))
        require(
            lo + self.width <= hi + 1e-9,
            "exploration.high_start/partner_start",
            f"windows [{self.high_start:g}, {self.high_start + self.width:g}) and "
            f"[{self.partner_start:g}, {self.partner_start + self.width:g}) overlap; move one of them",
        )
        require(0 <= self.lam <= 1, "exploration.lam", "must be in [0, 1] (searched range 0.5–1.0)")
        self.lam_schedule = _choice(self.lam_schedule, "exploration.lam_schedule", LamSchedule)
        self.target = _choice(self.target, "exploration.target", MixTarget)
        self.schedule = _choice(self.schedule, "exploration.schedule", ExplorationSchedule)


@dataclass
class PolicyConfig:
    """Which temperature policy sets T (``name``, a key of rlkd.policies) and, one node per policy, their knobs.

    Every node is always present, so one base config can switch ``policy.name`` between rows. A policy's node
    is its own torch-free dataclass (rlkd/policies/configs/), registered with its builder; RLKD's knobs are the
    run's ``agent``, ``reward``, ``calibration`` and ``exploration``.
    """

    name: str = "rlkd"  # fixed | ctkd_global | ctkd_instance | rlkd (checked against the registry by the trainer)
    fixed: FixedConfig = field(default_factory=FixedConfig)  # policy.fixed.*
    ctkd: CTKDConfig = field(default_factory=CTKDConfig)  # policy.ctkd.*: ctkd_global and ctkd_instance


@dataclass
class RunConfig:
    """One training run: data, models, loss, temperature policy and the RLKD agent."""

    seed: int = 0
    device: Device = Device.auto  # auto | cpu | cuda
    threads: int = 0  # torch intra-op threads; 0 = leave torch's default
    out_dir: str = "runs/default"  # checkpoints and metrics.jsonl; resumes from last.pt when present
    resume: bool = True
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    exploration: ExplorationConfig = field(default_factory=ExplorationConfig)

    def __post_init__(self) -> None:
        self.device = _choice(self.device, "device", Device)
        require(self.threads >= 0, "threads", "must be >= 0")


def build_config(overrides: list[str] | None = None, base: dict[str, Any] | None = None) -> RunConfig:
    """Compose defaults ← ``base`` ← ``key=value`` overrides into a checked ``RunConfig``.

    Unknown keys and mistyped values fail with one line naming the key.
    """
    from omegaconf.errors import OmegaConfBaseException

    schema = OmegaConf.structured(RunConfig)
    try:
        merged = OmegaConf.merge(schema, base or {}, OmegaConf.from_dotlist(list(overrides or [])))
        cfg = OmegaConf.to_object(merged)
    except OmegaConfBaseException as err:
        first = str(err).splitlines()[0]
        where = f" {err.full_key}" if getattr(err, "full_key", None) else ""  # the key, for enums and unknown keys
        hint = "see `python -m rlkd.train --help` for the keys"
        raise RLKDError(f"bad config override{where}: {first}; {hint}") from None
    assert isinstance(cfg, RunConfig)
    return cfg


def to_dict(cfg: RunConfig) -> dict[str, Any]:
    """The resolved config as plain containers (logged with every run, hashed for tags)."""
    # Choices as their plain string values: the tree is JSON-dumped, hashed and logged as MLflow params.
    tree = OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True, enum_to_str=True)
    return tree  # type: ignore[return-value]
