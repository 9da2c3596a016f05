"""One tree, one grammar: the three entry points compose the real conf/ the same way, and bad input is one line.

Composes the real config (lightning-hydra-template's way of testing configs), no Ray or MLflow involved.
"""
from __future__ import annotations

import pytest

from rlkd.compose import compose_run, parse_overrides
from rlkd.config import to_dict
from rlkd.errors import RLKDError
from rlkd_platform.conf import compose_sweep, run_keys
from rlkd_platform.driver.settings import load_settings

RUN_OVERRIDES = ["preset=short", "optim.lr=0.01", "optim.milestones=[1,2]", "agent.clip_eps=0.15",
                 "data.root=/data/cifar", "+loss.params.beta=8.0"]


def test_train_sweep_and_report_read_the_same_run_config():
    alone = to_dict(compose_run(RUN_OVERRIDES))
    sweep = load_settings(RUN_OVERRIDES).base  # run_sweep.py
    report = compose_sweep(RUN_OVERRIDES).sweep  # the report's composition
    assert alone["optim"]["lr"] == 0.01 and alone["optim"]["milestones"] == [1, 2]
    assert alone["data"] == {**alone["data"], "name": "cifar100_npz", "root": "/data/cifar", "train_limit": 10000}
    assert alone["loss"]["params"] == {"beta": 8.0} and alone["agent"]["clip_eps"] == 0.15
    # Only out_dir differs in meaning (a sweep gives every trial its own); everything else is the same tree.
    for key in set(run_keys()) - {"out_dir"}:
        assert sweep[key] == alone[key], key
        assert to_dict(report)[key] == alone[key], key


def test_precedence_preset_then_ablation_overlay_then_command_line():
    assert load_settings(["ablation=exploration"]).base["policy"]["name"] == "rlkd"  # the ablation's overrides
    base = load_settings(["ablation=kd_ctkd_rlkd", "preset=tiny", "loss.name=dkd"]).base
    assert base["loss"]["name"] == "dkd"  # the command line beats the ablation's `overrides: {loss.name: kd}`
    assert base["data"]["train_limit"] == 256 and base["optim"]["epochs"] == 2  # the preset under both


def test_group_options_come_from_the_folders_users_look_in():
    composed = compose_sweep(["ablation=window", "search=rlkd", "preset=paper"])
    assert (composed.ablation, composed.preset) == ("window", "paper")
    assert composed.sweep.search is not None and composed.sweep.search.path.endswith("search_spaces/rlkd.yaml")
    assert composed.sweep.ablation.path.endswith("ablations/window.yaml") and len(composed.sweep.ablation.rows) == 6
    assert composed.user_keys == []


@pytest.mark.parametrize("argv, message", [
    (["preset=huge"], "unknown preset 'huge'; known: paper, quickstart, short, tiny"),
    (["optim.epochz=3"], "unknown key 'optim.epochz'"),
    (["optim.lr=abc"], "optim.lr=abc: Value 'abc' of type 'str' could not be converted to Float"),
    (["optim.lr=-1"], "optim.lr: must be > 0"),
    (["optim.lr=="], "'optim.lr==' is not key=value in Hydra's grammar"),
    (["device=gpu"], "device"),
    (["0.6"], "'0.6': expected key=value"),
    (["ablation=window"], "unknown key 'ablation'"),  # a sweep option means nothing to one run
])
def test_one_run_bad_input_is_one_line(argv, message):
    with pytest.raises(RLKDError) as err:
        compose_run(argv)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_malformed_ablation_files_fail_only_when_chosen_and_name_the_file(tmp_path, monkeypatch):
    import rlkd_platform.conf as conf

    folder = tmp_path / "ablations"
    folder.mkdir()
    for name in ("baseline", "window"):
        (folder / f"{name}.yaml").write_text((conf.ABLATIONS_DIR / f"{name}.yaml").read_text())
    (folder / "syntax.yaml").write_text("name: syntax\nrows: {a: [\n")
    (folder / "noname.yaml").write_text("rows: {a: {}}\n")
    (folder / "aslist.yaml").write_text("name: aslist\nrows: [a, b]\n")
    (folder / "badrow.yaml").write_text("name: badrow\nrows: {a: 3}\n")
    monkeypatch.setattr(conf, "ABLATIONS_DIR", folder)
    assert compose_sweep(["ablation=window"]).ablation == "window"  # the broken files break nothing else
    for name, message in (("syntax", "not valid YAML"), ("noname", "its name field says None"),
                          ("aslist", "'rows' must be a mapping"), ("badrow", "row 'a' must map run-config keys")):
        with pytest.raises(RLKDError) as err:
            compose_sweep([f"ablation={name}"])
        assert str(folder / f"{name}.yaml") in str(err.value) and message in str(err.value), err.value
        assert "\n" not in str(err.value)


def test_an_ablation_row_with_an_unknown_key_names_the_file_and_row(tmp_path, monkeypatch):
    import rlkd_platform.conf as conf

    folder = tmp_path / "ablations"
    folder.mkdir()
    (folder / "baseline.yaml").write_text((conf.ABLATIONS_DIR / "baseline.yaml").read_text())
    (folder / "typo.yaml").write_text("name: typo\nrows: {fast: {optim.lrr: 0.1}}\n")
    monkeypatch.setattr(conf, "ABLATIONS_DIR", folder)
    with pytest.raises(RLKDError) as err:
        load_settings(["ablation=typo"])
    assert str(folder / "typo.yaml") in str(err.value) and "row 'fast'" in str(err.value) and "lrr" in str(err.value)


def test_overrides_are_read_by_hydras_parser():
    items = parse_overrides(["optim.milestones=[1,2]", "+loss.params.beta=8", "name='my sweep'"])
    assert [(i.key, i.value) for i in items] == [("optim.milestones", [1, 2]), ("loss.params.beta", 8),
                                                  ("name", "my sweep")]
    # the {teacher} template (README) is text, not one of Hydra's dicts
    (template,) = parse_overrides(["model.teacher_checkpoint=/w/{teacher}_vanilla/ckpt.pth"])
    assert template.value == "/w/{teacher}_vanilla/ckpt.pth"
    assert compose_run(["model.teacher_checkpoint=/w/{teacher}.pt"]).model.teacher_checkpoint == "/w/{teacher}.pt"
