"""One Hydra composition for every entry point: ``python -m rlkd.train``, ``run_sweep.py`` and the report.

The tree is ``conf/`` at the project's root (the README's editable install keeps it beside the package):
``conf/train.yaml`` (one run) and ``conf/config.yaml`` (a sweep) over the typed run config registered as a
structured config, with the ``preset`` group (``conf/preset/``) as overlays; the platform adds its groups
(``ablation``, ``search``) from the folders users look in. Hydra only composes here (the compose API: no
working-directory change, no ``outputs/``). Its errors become one ``RLKDError`` line naming the key and the
known choices, read from the exceptions' own fields, never from their message text.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from rlkd.config import TEACHER_PLACEHOLDER
from rlkd.errors import RLKDError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = PROJECT_ROOT / "conf"
GROUP_LABELS = {"search": "search space"}  # how a group is named in messages, where its key alone is terse


@dataclass(frozen=True)
class Override:
    """One ``key=value`` item as Hydra's own grammar reads it."""

    key: str  # dotted key or group name, without + / ~ / ++
    value: Any
    text: str  # as the user typed it, the {teacher} template escaped for Hydra


def parse_overrides(argv: Sequence[str]) -> list[Override]:
    """Hydra's override parser; a malformed item is one line naming it and how to write it."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    items = []
    for text in argv:
        # The {teacher} template is the project's own: escaped so Hydra reads it as text, not as a dict.
        text = text.replace(TEACHER_PLACEHOLDER, "\\{teacher\\}") if "\\{" not in text else text
        if "=" not in text and not text.startswith("~"):
            raise RLKDError(f"'{text}': expected key=value (e.g. ablation=exploration, optim.epochs=5); a value with "
                            "spaces needs quotes: \"key='a b'\"")
        try:
            (parsed,) = OverridesParser.create().parse_overrides([text])
        except OverrideParseException as err:
            raise RLKDError(f"'{err.override}' is not key=value in Hydra's grammar; write key=value, and quote a "
                            "value with spaces or special characters: key='a b' (in the shell: \"key='a b'\")"
                            ) from None
        items.append(Override(parsed.key_or_group, parsed.value(), text))
    return items


def _key_error(err: OmegaConfBaseException) -> str:
    key = getattr(err, "full_key", None) or "?"
    what = type(err).__name__
    if what in ("ConfigKeyError", "ConfigAttributeError"):
        return f"unknown key '{key}'"
    value = getattr(err, "value", None)
    reason = str(getattr(err, "msg", "")).splitlines()[0] if getattr(err, "msg", None) else what
    shown = f"={value}" if value is not None else ""
    return f"{key}{shown}: {reason}"


def register_run_schema() -> None:
    """The typed run config as Hydra's ``run_schema`` (conf/train.yaml and the sweep's schema build on it)."""
    from hydra.core.config_store import ConfigStore

    from rlkd.config import RunConfig

    ConfigStore.instance().store(name="run_schema", node=RunConfig)


def compose(config_name: str, argv: Sequence[str], known_keys_hint: str = "") -> tuple[DictConfig, dict[str, Any]]:
    """Compose ``conf/<config_name>.yaml`` with ``argv`` (key=value items): the one way a run or sweep is configured.

    Returns the tree and the group options chosen (``{"preset": "short", ...}``). ``known_keys_hint`` ends an
    unknown-key message (where the keys are listed).
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import ConfigCompositionException, HydraException, MissingConfigException

    items = parse_overrides(argv)
    register_run_schema()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
            cfg = hydra_compose(config_name, overrides=[i.text for i in items], return_hydra_config=True)
        choices = dict(OmegaConf.to_container(cfg.hydra.runtime.choices))  # type: ignore[arg-type]
        with open_dict(cfg):
            del cfg["hydra"]
        return cfg, {k: v for k, v in choices.items() if not k.startswith("hydra")}
    except MissingConfigException as err:
        group, _, option = (err.missing_cfg_file or "").rpartition("/")
        if group and err.options is not None:
            known = ", ".join(o for o in sorted(err.options) if not o.startswith("file_"))
            raise RLKDError(f"unknown {GROUP_LABELS.get(group, group)} '{option}'; known: {known}") from None
        raise RLKDError(f"config '{err.missing_cfg_file}' not found under {CONF_DIR}") from None
    except ConfigCompositionException as err:
        cause = err.__cause__
        if isinstance(cause, OmegaConfBaseException):
            message = _key_error(cause)
            if message.startswith("unknown key"):
                message += f" ({known_keys_hint})" if known_keys_hint else ""
            raise RLKDError(message) from None
        from hydra.core.config_store import ConfigStore

        groups = ConfigStore.instance().repo  # a group another command has, named here: not a key of this one
        stray = [i.key for i in items if i.key in groups and isinstance(groups[i.key], dict)]
        if stray:
            hint = f" ({known_keys_hint})" if known_keys_hint else ""
            raise RLKDError(f"unknown key '{stray[0]}'{hint}") from None
        raise RLKDError(f"bad override: {str(err).splitlines()[0]}") from None
    except HydraException as err:
        raise RLKDError(f"bad override: {str(err).splitlines()[0]}") from None
    except OmegaConfBaseException as err:
        raise RLKDError(_key_error(err)) from None


def to_typed(cfg: DictConfig, schema: type) -> Any:
    """The composed tree as its dataclass: types checked by OmegaConf, ranges by the dataclasses' checks."""
    try:
        typed = OmegaConf.merge(OmegaConf.structured(schema), cfg)
        return OmegaConf.to_object(typed)
    except OmegaConfBaseException as err:
        raise RLKDError(_key_error(err)) from None


def compose_run(argv: Sequence[str]) -> Any:
    """``python -m rlkd.train``'s config: conf/train.yaml (run schema + a preset) with ``argv``, as a RunConfig."""
    from rlkd.config import RunConfig

    hint = "every key with its default: python -m rlkd.train --print-config"
    cfg, _ = compose("train", argv, known_keys_hint=hint)
    return to_typed(cfg, RunConfig)
