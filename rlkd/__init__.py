"""RLKD: instance-temperature knowledge distillation (arXiv 2407.00115) as a plug-and-play PyTorch library.

Public API: ``rlkd.agent`` (instance_state, temperature, RLKDAgent), ``rlkd.losses.build_loss``,
``rlkd.models.build_model`` / ``load_teacher``, ``rlkd.policies.build_policy``, ``rlkd.trainer.Trainer``.
"""
from rlkd.errors import RLKDError

__version__ = "0.1.0"
__all__ = ["RLKDError", "__version__"]
