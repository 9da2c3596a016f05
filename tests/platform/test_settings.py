"""Composition and checks of a sweep's inputs, and the small pure pieces: no Ray cluster, no MLflow server."""
from __future__ import annotations

import io
import json
import socket
import time

import pytest

from rlkd.errors import RLKDError
from rlkd_platform.driver.settings import load_settings
from rlkd_platform.tracking.client import config_hash, flatten
from rlkd_platform.trial.plan import dotlist, trial_overrides


def test_defaults_compose_to_one_baseline_trial():
    s = load_settings(["out=/tmp/x"])
    assert s.name == "baseline-quickstart" and s.experiment == "baseline"
    assert s.rows == {"rlkd": {}} and s.seeds == [0] and s.sweep.workers == 1
    assert s.base["data"]["name"] == "digits" and s.out.is_absolute()


def test_ablation_rows_seeds_and_overrides():
    s = load_settings(["ablation=exploration", "seeds=3", "optim.epochs=2", "ray.address=auto"])
    assert s.rows == {"w/ exploration": {"exploration.enabled": True},
                      "w/o exploration": {"exploration.enabled": False}}
    assert s.seeds == [0, 1, 2] and s.base["optim"]["epochs"] == 2 and s.sweep.ray.address == "auto"
    assert load_settings(["seeds=[3,7]"]).seeds == [3, 7]


def test_a_paper_table_from_ablations_is_a_grid_of_its_cells():
    from rlkd_platform.report.tables import load_table

    s = load_settings(["ablation=window", "seeds=2"])
    table = load_table("window")
    assert s.rows == table.cells() and s.sweep.ablation.name == "window" and s.experiment == "window"
    assert s.base["policy"]["name"] == "rlkd" and s.seeds == [0, 1]


def test_fingerprint_ignores_where_and_follows_what():
    a = load_settings(["ablation=exploration", "optim.epochs=2"])
    assert a.fingerprint() == load_settings(["ablation=exploration", "optim.epochs=2", "ray.address=auto",
                                             "mlflow.tracking_uri=http://h:5000", "max_concurrent=3"]).fingerprint()
    assert a.fingerprint() != load_settings(["ablation=exploration", "optim.epochs=3"]).fingerprint()


def test_the_rlkd_space_is_spec_section_7():
    space = load_settings(["search=rlkd"]).space
    knobs = {k.key: (k.kind, k.args) for k in space.knobs}
    assert knobs == {"agent.clip_eps": ("uniform", (0.1, 0.3)), "reward.n": ("loguniform", (10, 240)),
                     "exploration.lam": ("uniform", (0.5, 1.0)),
                     "exploration.high_start": ("choice", (0.0, 0.1, 0.2)),
                     "exploration.partner_start": ("choice", (0.3, 0.4, 0.5, 0.8))}
    assert space.first == {"agent.clip_eps": 0.2, "reward.n": 80.0, "exploration.lam": 0.7,
                           "exploration.high_start": 0.1, "exploration.partner_start": 0.4}


def test_precedence_row_and_knobs_over_base():
    rows = {"a": {"exploration.enabled": False}}
    assert trial_overrides({"row": "a", "seed": 2}, rows) == ("a", {"exploration.enabled": False, "seed": 2})
    searched = {"seed": 0, "agent.clip_eps": 0.15}
    assert trial_overrides(searched, {"rlkd": {}}) == ("rlkd", searched)
    assert dotlist({"a": True, "b": None, "c": [1, 2], "d": "x"}) == ["a=true", "b=null", "c=[1, 2]", "d=x"]


def test_flatten_and_hash():
    assert flatten({"agent": {"clip_eps": 0.2}, "m": [1], "n": None, "p": {}}) == \
        {"agent.clip_eps": "0.2", "m": "[1]", "n": "null", "p": "{}"}
    assert config_hash({"a": 1, "b": 2}) == config_hash({"b": 2, "a": 1}) != config_hash({"a": 2, "b": 2})


@pytest.mark.parametrize("argv, message", [
    (["ablation=nope"], "unknown ablation 'nope'; known: baseline, calibration, exploration, frameworks"),
    (["search=nope"], "unknown search space 'nope'; known: rlkd"),
    (["bogus=1"], "unknown key 'bogus'"),
    (["ray.adress=x"], "unknown key 'ray.adress'"),
    (["optim.epochz=3"], "epochz"),
    (["trials=many"], "trials"),
    (["seeds=0"], "seeds=0"),
    (["workers=0"], "workers=0: must be >= 1"),
    (["preset=huge"], "unknown preset 'huge'"),
    (["exploration.high_start=0.35"], "overlap"),
    (["ablation=exploration", "exploration.enabled=false"], "the sweep varies this key"),
    (["search=rlkd", "seeds=2"], "a search uses one seed"),
    (["search=rlkd", "ablation=exploration"], "one-row ablation"),
    (["seed=3"], "use seeds=[3]"),
    (["notakeyvalue"], "expected key=value"),
])
def test_bad_input_is_one_line_naming_the_problem(argv, message):
    with pytest.raises(RLKDError) as err:
        load_settings(argv)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("body, message", [
    ("params: {agent.clip_eps: {uniform: [0.3, 0.1]}}", "is empty"),
    ("params: {agent.clip_eps: {uniform: [-0.1, 0.3]}}", "agent.clip_eps=-0.1 is impossible"),
    ("params: {reward.n: {loguniform: [0, 240]}}", "low > 0"),
    ("params: {exploration.high_start: {choice: [0.0, 0.35]}, exploration.partner_start: {choice: [0.4]}}",
     "overlap"),
    ("params: {agent.clip_epz: {uniform: [0.1, 0.3]}}", "clip_epz"),
    ("params: {agent.clip_eps: {normal: [0, 1]}}", "must be one of"),
])
def test_impossible_search_spaces_fail_in_the_driver(tmp_path, body, message):
    path = tmp_path / "space.yaml"
    path.write_text(body)
    with pytest.raises(RLKDError) as err:
        load_settings([f"search={path}"])
    assert message in str(err.value) and "\n" not in str(err.value)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_ray_address_and_tracking_server_fail_in_seconds():
    from rlkd_platform.driver.cluster import check_address
    from rlkd_platform.tracking.server import check_reachable

    port = free_port()
    for check, value in ((check_address, f"127.0.0.1:{port}"), (check_reachable, f"http://127.0.0.1:{port}")):
        start = time.perf_counter()
        with pytest.raises(RLKDError) as err:
            check(value)
        assert time.perf_counter() - start < 5 and str(port) in str(err.value)
    with pytest.raises(RLKDError, match="sqlite"):
        check_reachable("file:./mlruns")


def test_temperature_plot_draws_from_logged_history():
    from rlkd_platform.tracking.temperature_plot import draw

    fig = draw({"temp/mean": {1: 4.0, 2: 5.0}, "temp/std": {1: 0.0, 2: 1.0},
                "temp/q05": {2: 3.5}, "temp/q25": {2: 4.5}, "temp/q50": {2: 5.0}, "temp/q75": {2: 5.5},
                "temp/q95": {2: 6.5}}, "run")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:4] == b"\x89PNG"
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "mean T (all instances)" in labels and "median (last batch)" in labels


def test_sweep_state_refuses_other_settings_under_the_same_name(tmp_path):
    from rlkd_platform.driver.sweep import run, write_state

    s = load_settings([f"out={tmp_path}", "name=x"])
    write_state(s.sweep_dir, {"fingerprint": "something-else", "parent_run_id": "p"})
    with pytest.raises(RLKDError, match="started with other settings"):
        run(s)
    assert json.loads((s.sweep_dir / "rlkd_sweep.json").read_text())["parent_run_id"] == "p"  # untouched


def test_an_address_where_something_else_answers_is_not_taken_for_ray():
    """A port that answers but is not Ray would make ray.init retry for minutes; the probe says so at once."""
    import http.server
    import threading

    from rlkd_platform.driver.cluster import check_address

    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        start = time.perf_counter()
        with pytest.raises(RLKDError, match="not Ray"):
            check_address(f"127.0.0.1:{server.server_address[1]}")
        assert time.perf_counter() - start < 5
    finally:
        server.shutdown()
