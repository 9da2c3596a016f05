"""From a trial's logical run config (what MLflow records) to the one its Trainer runs with.

Only machine-local things change: ``out_dir`` becomes the trial's scratch folder (each rank its own, so nothing
assumes a filesystem shared between nodes), ``threads=0`` becomes the CPUs Ray gave the worker (two trials on
two cores must not each spin up two threads), and a sweep-trained teacher is written next to it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from rlkd.config import RunConfig, build_config, to_dict
from rlkd_platform.trial.teachers import pretrain_teacher, teacher_key


def runtime_config(logical: RunConfig, work: Path, spec: Any) -> RunConfig:
    overrides = [f"out_dir={work / 'run'}", "resume=true"]
    if not logical.threads:
        overrides.append(f"threads={max(1, int(spec.cpus_per_worker))}")
    if not logical.model.teacher_checkpoint:
        weights = spec.teachers.get(teacher_key(logical))
        if weights is None:  # not prepared by the driver (e.g. a searched knob changes the teacher): train it here
            weights = pretrain_teacher(build_config(overrides, to_dict(logical)))
        path = work / "teacher.pt"
        path.write_bytes(weights)
        overrides.append(f"model.teacher_checkpoint={path}")
    return build_config(overrides, to_dict(logical))
