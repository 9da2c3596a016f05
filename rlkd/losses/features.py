"""What the feature frameworks (PKT, SP, VID, CRD, SRRL, RKD) share.

Each is its own per-instance feature term plus the standard per-instance KD term, in CTKD's recipe
0.1·CE + 0.9·KD + β·term:
terms ``{"kd": α·KD_i, "<key>": β·term_i}`` with α = 0.9, weights ce = 0.1, kd = 1.0. Only the KD term uses
the temperature. Batch-relational terms (PKT, SP, RKD, CRD) are split per instance so that their mean over
the batch equals the published scalar loss exactly; each file says how.

Auxiliary modules are built in ``__init__`` from shapes probed by one no-grad, eval-mode forward of
``context.example_input`` through both models (``probe``); they are submodules of the loss, so the trainer's
optimizer (which gets ``loss.parameters()``) trains them.
"""
from __future__ import annotations

import torch

from rlkd.errors import RLKDError
from rlkd.losses.base import DistillLoss, LossContext, LossWeights
from rlkd.losses.kd import kd_per_instance
from rlkd.models.base import Features

ZOO_HINT = "use a zoo model from rlkd.models (forward returns (logits, Features))"


def require_context(key: str, context: LossContext | None) -> LossContext:
    if context is None:
        raise RLKDError(
            f"loss '{key}' needs a LossContext to build its auxiliary modules: "
            f"build_loss('{key}', context=LossContext(student, teacher, example_input, num_data))"
        )
    return context


def check_features(key: str, feats: object, what: str) -> Features:
    if not isinstance(feats, Features):
        raise RLKDError(f"loss '{key}' needs model features ({what} gave {type(feats).__name__}): {ZOO_HINT}")
    return feats


def probe(key: str, context: LossContext) -> tuple[Features, Features, torch.Tensor]:
    """(student features, teacher features, teacher logits) of ``context.example_input``.

    Runs under no_grad in eval mode (BatchNorm statistics are not touched) and restores each model's mode.
    """
    outputs = []
    for what, model in (("student", context.student), ("teacher", context.teacher)):
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                out = model(context.example_input)
        finally:
            model.train(was_training)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise RLKDError(
                f"loss '{key}' needs model features (the {what} returned no (logits, Features)): {ZOO_HINT}"
            )
        outputs.append(out)
    (_, s), (z_t, t) = outputs
    return check_features(key, s, "the student"), check_features(key, t, "the teacher"), z_t


def pooled(key: str, feats: Features) -> torch.Tensor:
    """The pooled ``[B, D]`` feature (RepDistiller's ``feat[-1]``)."""
    if feats.pooled is None:
        raise RLKDError(f"loss '{key}' needs Features.pooled, which this model does not set: {ZOO_HINT}")
    return feats.pooled.flatten(1)


def stages(key: str, feats: Features) -> list[torch.Tensor]:
    """The stage outputs, stem first (RepDistiller's ``feat[:-1]``)."""
    if not feats.stages:
        raise RLKDError(f"loss '{key}' needs Features.stages, which this model does not set: {ZOO_HINT}")
    return list(feats.stages)


def check_nonnegative(key: str, **values: float) -> None:
    for name, value in values.items():
        if float(value) < 0:
            raise RLKDError(f"loss '{key}': {name} must be >= 0, got {value}")


class FeatureDistillLoss(DistillLoss):
    """Base of the feature frameworks: subclasses set ``key`` and implement ``feature_term``."""

    key: str = ""
    weights = LossWeights(ce=0.1, kd=1.0)
    needs_features = True

    def __init__(self, alpha: float, beta: float) -> None:
        super().__init__()
        check_nonnegative(self.key, alpha=alpha, beta=beta)
        self.alpha, self.beta = float(alpha), float(beta)

    def feature_term(
        self, student: Features, teacher: Features, teacher_logits: torch.Tensor, index: torch.Tensor | None
    ) -> torch.Tensor:
        """The framework's own loss per instance ``[B]``, before β."""
        raise NotImplementedError

    def terms(
        self,
        student_logits: torch.Tensor,
        teacher_logits: torch.Tensor,
        target: torch.Tensor,
        temperature: torch.Tensor,
        *,
        student_feats: Features | None = None,
        teacher_feats: Features | None = None,
        index: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        if student_feats is None or teacher_feats is None:
            raise RLKDError(f"loss '{self.key}' needs model features: {ZOO_HINT}")
        student = check_features(self.key, student_feats, "student_feats")
        teacher = check_features(self.key, teacher_feats, "teacher_feats")
        term = self.feature_term(student, teacher, teacher_logits.detach(), index)
        kd = kd_per_instance(student_logits, teacher_logits, temperature)
        return {"kd": self.alpha * kd, self.key: self.beta * term}

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, beta={self.beta}"
