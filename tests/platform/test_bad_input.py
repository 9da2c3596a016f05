"""Bad input through the real command line: one line on stderr, exit code 2, in seconds, and nothing already
logged is touched (an existing sweep's MLflow runs and state stay as they were)."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

from platform_helpers import ROOT, mlflow_client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_bad_input_fails_fast_with_one_line(tmp_path, search, infra):
    settings, outcome = search
    client = mlflow_client(infra["server"])
    runs_before = {r.info.run_id: r.info.status for r in client.search_runs([outcome.experiment_id])}
    state_before = (settings.sweep_dir / "rlkd_sweep.json").read_text()
    bad_space = tmp_path / "bad.yaml"
    bad_space.write_text("params: {agent.clip_eps: {uniform: [0.3, 0.1]}}\n")
    out = f"out={tmp_path}"
    one_file = tmp_path / "resnet56.pt"
    one_file.write_bytes(b"")
    table = ("ablation=kd_ctkd_rlkd", "preset=short", f"data.root={tmp_path}")
    cases = {  # argv -> what the one line must say
        ("ablation=nope", out): "unknown ablation 'nope'; known: baseline, calibration, exploration",
        ("search=nope", out): "unknown search space 'nope'; known: rlkd",
        ("optim.epochz=3", out): "epochz",
        ("bogus=1", out): "unknown key 'bogus'",
        (f"search={bad_space}", out): "is empty",
        (f"ray.address=127.0.0.1:{free_port()}", out): "nothing answers there",
        (f"mlflow.tracking_uri=http://127.0.0.1:{free_port()}", out): "no MLflow server answers",
        ("preset=short", "data.root=/nonexistent/cifar", out): "data.root=/nonexistent/cifar: no such folder",
        ("preset=nope", out): "unknown preset 'nope'; known: paper, quickstart, short",
        # a table whose rows change the teacher: one file cannot serve, a {teacher} template names the missing one
        # (own out= folders: these get as far as the tracking store, one per folder at a time)
        (*table, f"model.teacher_checkpoint={one_file}", f"out={tmp_path / 'one'}"):
            "put {teacher} in it for a file per teacher",
        (*table, f"model.teacher_checkpoint={tmp_path}/{{teacher}}.pt", f"out={tmp_path / 'template'}"):
            (f"row 'RN110-RN20 | KD': model.teacher_checkpoint={tmp_path}/resnet110.pt: "
             "no such file for teacher resnet110"),
        # the finished search's own name with other settings: refused, its runs and state untouched
        ("search=rlkd", "trials=4", f"out={settings.out}", f"name={settings.name}", *infra["args"]):
            "was started with other settings",
    }
    start = time.perf_counter()
    procs = {argv: subprocess.Popen([sys.executable, str(ROOT / "run_sweep.py"), *argv], cwd=ROOT, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE) for argv in cases}
    for argv, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=60)
        lines = stderr.strip().splitlines()
        assert proc.returncode == 2, (argv, stdout[-500:], stderr[-2000:])
        assert len(lines) == 1 and lines[0].startswith("error: ") and cases[argv] in lines[0], (argv, stderr)
    elapsed = time.perf_counter() - start
    print(f"\n[timing] {len(cases)} bad commands, run concurrently: {elapsed:.1f} s")
    assert elapsed < 60
    assert {r.info.run_id: r.info.status for r in client.search_runs([outcome.experiment_id])} == runs_before
    assert (settings.sweep_dir / "rlkd_sweep.json").read_text() == state_before
    assert json.loads(state_before)["parent_run_id"] == outcome.parent_run_id


def test_help_lists_the_options():
    result = subprocess.run([sys.executable, str(ROOT / "run_sweep.py"), "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and "ablation" in result.stdout and "ray:" in result.stdout
