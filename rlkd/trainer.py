"""Single-run trainer: teacher + student + KD loss + temperature policy, the recipe of spec section 6.

One ``Trainer`` is one run. It checkpoints its whole state every epoch (``last.pt``) and resumes from it
exactly. Under torch.distributed (set up by a launcher such as Ray Train) it trains data-parallel: the
student through DDP, the loss's auxiliary modules, the policy's gradient-trained parameters and its own
optimisers' modules by gradient averaging, so every rank holds one model and one policy. The trainer never
looks at the policy's name: it asks the policy what it needs (``rlkd.policies.base``).
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol, Sized, cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import ConcatDataset, DataLoader, Dataset, DistributedSampler, RandomSampler, Subset

from rlkd import distributed
from rlkd.analysis import TemperatureSample
from rlkd.checkpoint import load, rng_state, save_atomic, seed_everything, set_rng_state
from rlkd.config import Device, RunConfig, to_dict
from rlkd.data import build_datasets, dataset_targets
from rlkd.errors import RLKDError
from rlkd.exploration import (
    EntropyTracker,
    ExplorationPlan,
    MixedDataset,
    batch_targets,
    build_plan,
    exploration_active,
)
from rlkd.losses import LOSSES, build_loss
from rlkd.losses.base import LossContext, check_temperature
from rlkd.metrics import EpochSums
from rlkd.models import MODELS, build_model
from rlkd.policies import POLICIES, Step, build_policy
from rlkd.teacher import prepare_teacher

EpochCallback = Callable[["Trainer", dict[str, Any]], None]


class StepProgress(Protocol):
    """A per-step display (the CLI's progress bar), on rank 0. It must not read the device every step."""

    def start_epoch(self, epoch: int, total_steps: int) -> None: ...

    def step(self, images: int, loss: torch.Tensor, temperatures: torch.Tensor) -> None: ...

    def end_epoch(self) -> None: ...


@dataclass
class StepOutput:
    """What one optimiser step leaves for the epoch's sums and the progress display (all detached)."""

    loss: torch.Tensor  # the batch's total loss (scalar)
    ce: torch.Tensor  # [B] (mixed instances: their λ-weighted CE)
    correct: torch.Tensor  # count of top-1 hits on the majority label
    terms: dict[str, torch.Tensor]  # the KD loss's named per-instance terms [B]
    kd: torch.Tensor  # [B] their sum
    temperatures: torch.Tensor  # [B] the policy's T


def resolve_device(name: str | Device) -> torch.device:
    choice = Device(name)
    if choice == Device.auto:
        choice = Device.cuda if torch.cuda.is_available() else Device.cpu
    if choice == Device.cuda and torch.cuda.is_available() and distributed.is_distributed():
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device(choice.value)


def check_names(cfg: RunConfig) -> None:
    """Unknown registry keys fail before any data is read or a teacher trained."""
    LOSSES.get(cfg.loss.name)
    POLICIES.get(cfg.policy.name)
    MODELS.get(cfg.model.teacher)
    MODELS.get(cfg.model.student)


class Trainer:
    def __init__(self, cfg: RunConfig, callbacks: list[EpochCallback] | None = None,
                 progress: StepProgress | None = None) -> None:
        self.cfg, self.callbacks = cfg, list(callbacks or [])
        self.progress = progress if distributed.rank() == 0 else None
        check_names(cfg)
        self.rank, self.world = distributed.rank(), distributed.world_size()
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.device = resolve_device(cfg.device)
        self.out_dir = Path(cfg.out_dir)
        seed_everything(cfg.seed)
        d = cfg.data
        self.data = build_datasets(d.name, d.root, download=d.download, train_limit=d.train_limit,
                                   test_limit=d.test_limit, augment=d.augment)
        self.train_labels = torch.as_tensor(dataset_targets(self.data.train))
        channels = self.data.input_shape[0]
        self.teacher = prepare_teacher(cfg, self.data.train, self.data.num_classes, self.device, channels)
        seed_everything(cfg.seed)  # the student's init does not depend on how the teacher was obtained
        self.student = build_model(cfg.model.student, num_classes=self.data.num_classes,
                                   in_channels=channels).to(self.device)
        example = torch.stack([self.data.train[i][0] for i in range(2)]).to(self.device)
        n_train = len(cast(Sized, self.data.train))
        context = LossContext(self.student, self.teacher, example, n_train)
        self.loss = build_loss(cfg.loss.name, context=context,
                               **cfg.loss.params).to(self.device)
        self.policy = build_policy(cfg, self.data.num_classes, self.rank).to(self.device)
        self.entropy = EntropyTracker(n_train).to(self.device)
        # Per-instance T of the epoch for analysis plots (rlkd_platform logs them); one T per batch shows nothing.
        self.temperature_sample = (
            TemperatureSample(n_train) if self.policy.per_instance else None
        )
        self.ce_weight = cfg.loss.ce_weight if cfg.loss.ce_weight is not None else self.loss.weights.ce
        self.kd_weight = cfg.loss.kd_weight if cfg.loss.kd_weight is not None else self.loss.weights.kd
        self.synced_params = list(self.loss.parameters()) + self.policy.student_parameters()
        self.optimizer = torch.optim.SGD(list(self.student.parameters()) + self.synced_params, lr=cfg.optim.lr,
                                         momentum=cfg.optim.momentum, weight_decay=cfg.optim.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(self.optimizer, cfg.optim.milestones, cfg.optim.gamma)
        self.model: nn.Module = self.student
        if distributed.is_distributed():
            distributed.broadcast_module(self.loss)
            distributed.broadcast_module(self.policy)
            self.policy.set_grad_sync(distributed.average_gradients)  # e.g. RLKD's agent, C, U, Ê optimisers
            self.model = DistributedDataParallel(self.student)
        torch.manual_seed(cfg.seed * 1000 + self.rank)  # augmentation differs per rank, deterministically
        self.epoch, self.best_acc = 0, 0.0
        self.history: list[dict[str, Any]] = []
        self.extra: dict[str, Any] = {}  # launcher state saved with the checkpoint (e.g. the MLflow run id)
        if cfg.resume and (self.out_dir / "last.pt").exists():
            self.load_state_dict(load(self.out_dir / "last.pt", self.device))

    # ----------------------------------------------------------------------------------------- loop
    def fit(self) -> dict[str, Any]:
        for epoch in range(self.epoch + 1, self.cfg.optim.epochs + 1):
            start = time.perf_counter()
            record = {"epoch": epoch, **self.train_epoch(epoch)}
            record["train_time_s"] = time.perf_counter() - start
            record["test/acc"], record["test/loss"] = self.evaluate()
            self.epoch, self.best_acc = epoch, max(self.best_acc, record["test/acc"])
            record["test/best_acc"] = self.best_acc
            record["epoch_time_s"] = time.perf_counter() - start
            self.history.append(record)
            if self.rank == 0:
                self.save(self.out_dir / "last.pt")
                with open(self.out_dir / "metrics.jsonl", "a") as fh:
                    fh.write(json.dumps(record) + "\n")
            for callback in self.callbacks:
                callback(self, record)
        return self.summary()

    def summary(self) -> dict[str, Any]:
        last = self.history[-1] if self.history else {}
        return {"epochs": self.epoch, "last_acc": last.get("test/acc"), "best_acc": self.best_acc}

    def loader(self, epoch: int) -> tuple[DataLoader, Any]:
        dataset: Dataset = self.data.train
        plan = None
        explore = exploration_active(epoch, self.cfg.agent.warmup_epochs, self.cfg.exploration)
        if explore and self.policy.uses_exploration:
            plan = build_plan(self.entropy.ranking(), self.train_labels, self.cfg.exploration)
            dataset = ConcatDataset([dataset, MixedDataset(dataset, plan)])
        generator = torch.Generator().manual_seed(self.cfg.seed * 100_003 + epoch)  # same order on resume
        if distributed.is_distributed():
            sampler: Any = DistributedSampler(dataset, shuffle=True, seed=self.cfg.seed, drop_last=True)
            sampler.set_epoch(epoch)
        else:
            sampler = RandomSampler(cast(Sized, dataset), generator=generator)
        loader = DataLoader(dataset, batch_size=self.cfg.data.batch_size, sampler=sampler, drop_last=True,
                            num_workers=self.cfg.data.num_workers, generator=generator,
                            pin_memory=self.device.type == "cuda")
        return loader, plan

    def run_step(self, x: torch.Tensor, y: torch.Tensor, index: torch.Tensor, epoch: int,
                 plan: ExplorationPlan | None = None) -> StepOutput:
        """One optimiser step on one batch (``plan``: the exploration epoch's mixed instances, if any)."""
        # non_blocking: the loader pins its batches on a GPU, so the copies queue behind the previous step's work.
        x, y, index = (v.to(self.device, non_blocking=True) for v in (x, y, index))
        t = batch_targets(y, index, plan)
        with torch.no_grad():
            teacher_logits, teacher_feats = self.teacher(x)
        student_logits, student_feats = self.model(x)
        self.entropy.update(index[t.clean], student_logits[t.clean])
        temps = self.policy.temperatures(Step(teacher_logits.detach(), student_logits.detach(), t.major, epoch))
        check_temperature(temps, student_logits)
        if self.temperature_sample is not None:
            self.temperature_sample.add(index, temps, student_logits)
        terms = self.loss.terms(student_logits, teacher_logits, t.major, temps, student_feats=student_feats,
                                teacher_feats=teacher_feats, index=t.loss_index)
        # Mixed instances (exploration) learn λ·CE(y_hi) + (1 − λ)·CE(y_partner); clean ones have λ = 1.
        ce = t.lam * F.cross_entropy(student_logits, t.first, reduction="none")
        ce = ce + (1 - t.lam) * F.cross_entropy(student_logits, t.second, reduction="none")
        kd = torch.stack(list(terms.values())).sum(0)
        loss = self.ce_weight * ce.mean() + self.kd_weight * self.loss.weights.kd_factor(epoch) * kd.mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        distributed.average_gradients(self.synced_params)
        self.optimizer.step()
        correct = (student_logits.detach().argmax(1) == t.major).sum()
        return StepOutput(loss.detach(), ce.detach(), correct, {k: v.detach() for k, v in terms.items()},
                          kd.detach(), temps.detach())

    def train_epoch(self, epoch: int) -> dict[str, float]:
        loader, plan = self.loader(epoch)
        if self.temperature_sample is not None:
            self.temperature_sample.start_epoch()
        self.model.train()
        sums = EpochSums()
        if self.progress is not None:
            self.progress.start_epoch(epoch, len(loader))
        try:
            for x, y, index in loader:
                step = self.run_step(x, y, index, epoch, plan)
                sums.add({"loss": step.loss * len(y), "ce": step.ce.sum(), "kd": step.kd.sum(), "correct": step.correct,
                          "count": torch.full((), len(y), device=self.device),  # a fill: no host-to-device copy
                          **{f"loss/{n}": v.sum() for n, v in step.terms.items()}})
                if self.progress is not None:
                    self.progress.step(len(y), step.loss, step.temperatures)
        finally:
            if self.progress is not None:
                self.progress.end_epoch()
        self.scheduler.step()
        self.entropy.end_epoch(distributed.all_reduce_sum)
        total = sums.reduce(distributed.all_reduce_sum)  # every rank reports the same, whole-data metrics
        zero = torch.zeros((), dtype=torch.float64)
        count = total.get("count", zero).clamp_min(1)
        out = {"train/loss": total.get("loss", zero) / count, "train/ce": total.get("ce", zero) / count,
               "train/kd": total.get("kd", zero) / count, "train/acc": 100 * total.get("correct", zero) / count,
               "train/mixed_instances": float(len(plan) if plan else 0), "lr": self.optimizer.param_groups[0]["lr"]}
        out.update({n: v / count for n, v in sorted(total.items()) if n.startswith("loss/")})
        out = {k: float(v) for k, v in out.items()}
        if not math.isfinite(out["train/loss"]):  # checked once per epoch: no per-step host sync
            raise RLKDError(f"epoch {epoch}: the training loss is {out['train/loss']}: the student diverged; lower "
                            f"optim.lr (now {self.cfg.optim.lr}) or check the data and the teacher")
        out.update(self.policy.epoch_diagnostics())
        return out

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float]:
        """Top-1 (%) and CE on the whole test set, each image counted once across ranks."""
        test = self.data.test
        if self.world > 1:
            test = Subset(test, range(self.rank, len(cast(Sized, test)), self.world))
        self.student.eval()
        sums = torch.zeros(3, dtype=torch.float64, device=self.device)
        loader = DataLoader(test, batch_size=self.cfg.data.eval_batch_size, num_workers=self.cfg.data.num_workers)
        for x, y, _ in loader:
            logits, _ = self.student(x.to(self.device))
            y = y.to(self.device)
            sums += torch.stack([(logits.argmax(1) == y).sum(), F.cross_entropy(logits, y, reduction="sum"),
                                 torch.tensor(len(y), device=self.device)]).double()
        distributed.all_reduce_sum(sums)
        return float(100 * sums[0] / sums[2]), float(sums[1] / sums[2])

    # ----------------------------------------------------------------------------------- checkpoint
    def state_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch, "best_acc": self.best_acc, "history": self.history, "extra": self.extra,
            "config": to_dict(self.cfg), "student": self.student.state_dict(), "loss": self.loss.state_dict(),
            "policy": self.policy.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "entropy": self.entropy.state_dict(), "rng": rng_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name in ("student", "loss", "policy", "optimizer", "scheduler", "entropy"):
            getattr(self, name).load_state_dict(state[name])
        self.epoch, self.best_acc, self.history = state["epoch"], state["best_acc"], state["history"]
        self.extra = state.get("extra", {})
        set_rng_state(state["rng"])
        if self.world > 1:  # rank 0's RNG was saved; keep augmentation distinct per rank
            torch.manual_seed(self.cfg.seed * 1000 + self.rank + 7919 * self.epoch)

    def save(self, path: str | Path) -> None:
        save_atomic(self.state_dict(), path)
