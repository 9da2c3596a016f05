"""Each policy's own knobs: one torch-free dataclass per policy family, the node ``policy.<node>`` of a run.

They live apart from the policies (which import torch) so that ``rlkd.config`` builds its static schema without
torch. A new policy with knobs adds its dataclass here, a field for it in ``rlkd.config.PolicyConfig``, and
registers it with its builder (``rlkd.policies.register_policy``).
"""
from __future__ import annotations
