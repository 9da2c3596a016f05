"""The RLKD agent: state, action → temperature, reward, calibration and PPO (pure PyTorch)."""
from rlkd.agent.agent import RLKDAgent
from rlkd.agent.calibration import RewardCalibrator, corrector_loss, redistribute, return_targets, updater_loss
from rlkd.agent.networks import Actor, Critic, temperature
from rlkd.agent.ppo import Buffer, clipped_policy_loss, explained_variance, gae, ppo_update
from rlkd.agent.reward import batch_accuracy, macro_accuracy, official_scale, reward_factor, warmup_factor
from rlkd.agent.state import instance_state, state_dim

__all__ = [
    "Actor", "Buffer", "Critic", "RLKDAgent", "RewardCalibrator", "batch_accuracy", "clipped_policy_loss",
    "corrector_loss", "explained_variance", "gae", "instance_state", "macro_accuracy", "official_scale",
    "ppo_update", "redistribute", "return_targets", "reward_factor", "state_dim", "temperature",
    "updater_loss", "warmup_factor",
]
