"""What a newcomer meets first: every verb's ``--help`` example runs without a warning, multi-temperature data
without ``--condition`` is named, user-set options are what the rbm's refusals name, a Hamiltonian run counts
its lattices and prints the exact F/N beside F_q/N, ``thermo`` labels its quantities and gives z, a stop
signal exits at once with a checkpoint, and the training probe says when it cannot resolve a quantity."""
from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import trainer_toy  # noqa: F401  (registers toy-gauss)

from physgen.cli import build_parser
from physgen.data import Dataset, save
from physgen.training.checkpoint import latest

HERE = Path(__file__).resolve().parent
Q = ["--no-progress", "--device", "cpu"]


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Every (sub-verb path, parser) of the command tree."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, (*path, name))


def _examples() -> dict[str, list[str]]:
    """Each parser's ``--help`` example (its epilog's ``physgen ...`` lines), keyed by the command's path."""
    out = {}
    for path, parser in _walk(build_parser()):
        for line in (parser.epilog or "").replace("Example:", "\n").splitlines():
            if line.strip().startswith("physgen "):
                out.setdefault(" ".join(path) or "physgen", []).append(line.strip())
    return out


def _argv(example: str, **replace: str) -> list[str]:
    """The example's arguments (after ``physgen``), with ``--flag value`` pairs replaced by ``replace``."""
    argv = [os.path.expanduser(a) for a in shlex.split(example)[1:]]
    for flag, value in replace.items():
        argv[argv.index(f"--{flag.replace('_', '-')}") + 1] = value
    return argv


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if "warning" in line.lower()]


# --- 1, 2. the --help examples -----------------------------------------------------------------------------------
def test_every_help_example_parses():
    examples = _examples()
    assert {"physgen", "data ising", "train", "sample", "thermo"} <= set(examples)
    for where, lines in examples.items():
        for example in lines:
            build_parser().parse_args(_argv(example))   # (argparse exits on a bad example)
    assert "--condition temperature" in examples["train"][0]


def test_ising_help_examples_run_without_warnings(cli, tmp_path, monkeypatch):
    """``physgen data ising --help``'s example and physgen's own, with fewer samples and a shorter burn-in: no
    thinning warning at T_c (Wolff); the same command with Metropolis and the example's burn-in does warn (τ_int of
    |m| at T_c 8.3–11.0 sweeps over seeds 0–2, from the series of its last 100 burn-in sweeps), so the check can
    fail."""
    monkeypatch.chdir(tmp_path)
    examples = _examples()
    for example in (examples["data ising"][0], examples["physgen"][0]):
        code, out, err = cli(*_argv(example, samples="64", burn_in="100", out="ising.h5") if "--burn-in" in example
                             else [*_argv(example, samples="64", out="ising.h5"), "--burn-in", "100"], "--overwrite")
        assert code == 0 and not _warnings(err), err
    metropolis = _argv(examples["data ising"][0], samples="64", out="m.h5", algorithm="metropolis")
    code, _, err = cli(*metropolis)
    assert code == 0 and "thinning" in err


def test_cheap_help_examples_run_without_warnings(cli, tmp_path, monkeypatch):
    """Training, sampling and the data verbs' examples on the Ising file of the data example (train: 2 steps)."""
    monkeypatch.chdir(tmp_path)
    examples = _examples()
    assert cli(*_argv(examples["physgen"][0], samples="48", out="ising.h5"), "--burn-in", "50")[0] == 0
    runs = [_argv(examples["train"][0], steps="2") + Q, _argv(examples["sample"][0], n="16"),
            _argv(examples["data toy"][0], n="200"), _argv(examples["data info"][0]),
            _argv(examples["models defaults"][0])]
    for argv in runs:
        code, out, err = cli(*argv)
        assert code == 0 and not _warnings(err), (argv, err)


# --- 3. multi-temperature data without --condition -------------------------------------------------------------
def _multi_t(tmp_path: Path, temperatures=(2.0, 3.0)) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 3)).astype(np.float32)
    t = np.repeat(np.asarray(temperatures, float), 80 // len(temperatures))
    return save(Dataset(x, "continuous", {"temperature": t}), tmp_path / f"t{len(temperatures)}.h5")


def test_training_on_several_temperatures_without_condition_warns(cli, tmp_path):
    data = _multi_t(tmp_path)
    code, _, err = cli("train", "toy-gauss", "--data", data, "--out", tmp_path / "a", "--steps", "1", *Q)
    lines = _warnings(err)
    assert code == 0 and len(lines) == 1 and "/conditions/temperature" in lines[0]
    assert "--condition temperature" in lines[0]
    code, _, err = cli("train", "toy-gauss", "--data", data, "--out", tmp_path / "b", "--steps", "1", *Q,
                       "--condition", "temperature")
    assert code == 0 and not _warnings(err), err
    one = _multi_t(tmp_path, (2.0,))
    code, _, err = cli("train", "toy-gauss", "--data", one, "--out", tmp_path / "c", "--steps", "1", *Q)
    assert code == 0 and not _warnings(err), err


# --- 4. rbm filters on binary data ------------------------------------------------------------------------------
def test_rbm_filters_on_binary_data_name_only_what_the_user_set(cli, tmp_path):
    rng = np.random.default_rng(0)
    data = save(Dataset((rng.random((64, 4, 4)) < 0.5).astype(np.uint8), "binary"), tmp_path / "bin.h5")
    code, _, err = cli("train", "rbm", "--data", data, "--out", tmp_path / "f", "--set", "model.filters=2",
                       "--steps", "1", *Q)
    assert code == 0, err
    assert "filters = 2" in (tmp_path / "f" / "config.toml").read_text()
    code, _, err = cli("train", "rbm", "--data", data, "--out", tmp_path / "g", "--set", "model.filters=2",
                       "--set", "model.n_hidden=16", "--steps", "1", *Q)
    assert code == 2 and err.count("\n") == 1 and "model.n_hidden=16" in err and "128" not in err


# --- 5, 6. a run on the Hamiltonian: lattices per second, F_q/N beside the exact F/N --------------------------
def test_hamiltonian_run_counts_lattices(tmp_path, monkeypatch):
    from physgen.training import train
    from physgen.training.hamiltonian import IsingTraining
    from physgen.training.window import Window

    counted = []
    add = Window.add
    monkeypatch.setattr(Window, "add", lambda self, loss, logs, samples, lr: (counted.append(samples),
                                                                                add(self, loss, logs, samples, lr)))
    train("van", hamiltonian=IsingTraining(4, (2.0, 3.0)), out=tmp_path / "v", steps=3,
          sets=["model.samples=16", "train.progress=false", "train.device=cpu"])
    assert counted == [2 * 16] * 3   # 16 lattices at each of the 2 temperatures, not the 2 temperature rows


def test_hamiltonian_run_prints_the_exact_free_energy(cli, tmp_path):
    from physgen.physics.thermo import exact_values

    for size, temps, method in (("4", "2.0,3.0", "enumeration"), ("6", "2.5", "kaufman")):
        run = tmp_path / f"van{size}"
        code, out, err = cli("train", "van", "--hamiltonian", "ising", "--size", size, "--temperatures", temps,
                             "--out", run, "--steps", "2", "--set", "model.samples=16", *Q)
        assert code == 0, err
        rows = json.loads((run / "summary.json").read_text())["free_energy"]
        for row, t in zip(rows, map(float, temps.split(","))):
            exact = exact_values((int(size), int(size)), t, 1.0, 0.0, True)["free_energy"]
            assert row["temperature"] == t and row["method"] == method and row["exact"] == pytest.approx(exact)
            assert f"T={t:g}: F_q/N = {row['f_q']:.6g}, exact F/N = {exact:.6g} ({method})" in out
    code, out, _ = cli("train", "van", "--hamiltonian", "ising", "--size", "6", "--temperatures", "2.5", "--open",
                       "--out", tmp_path / "open", "--steps", "1", "--set", "model.samples=8", *Q)
    assert code == 0 and "exact F/N" in out and "(transfer matrix)" in out   # open boundaries: the transfer matrix


# --- 7. thermo's labels and z --------------------------------------------------------------------------------
def test_thermo_line_and_table_are_labelled_with_z():
    from physgen.cli.thermo import line
    from physgen.report.thermo_plots import table_rows

    record = {"temperature": 2.5, "ess": 900.0, "ess_fraction": 0.45, "onsager": None,
              "estimates": {"free_energy": {"value": -2.10, "error": 0.01}, "specific_heat": {"value": 1.2,
                                                                                            "error": 0.1},
                            "variational_free_energy": {"value": -2.0, "error": 0.002}},
              "exact": {"method": "kaufman", "free_energy": -2.12, "specific_heat": 1.0}}
    text = line(record)
    assert "F/N = -2.1 ± 0.01 (exact -2.12, z +2.0)" in text and "C/N = 1.2 ± 0.1 (exact 1, z +2.0)" in text
    assert "F_q/N = -2 ± 0.002;" in text and "_" not in text.replace("F_q", "")
    rows = table_rows({"temperatures": [record]})
    assert [r[1] for r in rows] == ["F/N", "C/N", "F_q/N"] and [r[4] for r in rows] == ["+2.0", "+2.0", "–"]


# --- 8. a stop signal: a checkpoint, no probe, out within seconds ---------------------------------------------
SLOW_PROBE = textwrap.dedent("""
    import os, sys, time
    import trainer_toy
    from physgen.cli import main

    sample = trainer_toy.ToyGauss.sample

    def slow(self, n, *, generator, condition=None):   # the probe's draw: logged, and slow when asked
        with open(os.environ["PROBE_LOG"], "a") as f:
            f.write(f"{time.time()}\\n")
        time.sleep(float(os.environ.get("PROBE_SLEEP", "0")))
        return sample(self, n, generator=generator, condition=condition)

    trainer_toy.ToyGauss.sample = slow
    raise SystemExit(main())
""")


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_a_stop_signal_exits_at_once_with_a_checkpoint_and_resume_completes(tmp_path, sig, code):
    """SIGTERM (a batch system's stop) and Ctrl-C (SIGINT): out within 10 s with a checkpoint and no probe after
    the signal; SIGTERM exits 0, Ctrl-C 130 (an interrupted command: ``physgen train … && next`` stops there)."""
    script, log, run = tmp_path / "slow_probe.py", tmp_path / "probes.log", tmp_path / "run"
    script.write_text(SLOW_PROBE)
    rng = np.random.default_rng(0)
    data = save(Dataset(rng.normal(size=(200, 3)).astype(np.float32), "continuous"), tmp_path / "d.h5")
    env = dict(os.environ, OMP_NUM_THREADS="1", PROBE_LOG=str(log), PROBE_SLEEP="60",
               PYTHONPATH=os.pathsep.join([str(HERE.parent / "src"), str(HERE)]))
    args = [sys.executable, str(script), "train", "toy-gauss", "--out", str(run), *Q]
    proc = subprocess.Popen(args + ["--data", str(data), "--steps", "2000", "--set", "model.sleep=0.005",
                                    "--set", "train.log_every=1"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_as_from_a_terminal)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _rows(run / "metrics.csv") < 5:
        time.sleep(0.02)
    sent = time.time()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert time.time() - sent < 10 and proc.returncode == code, err
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "terminated" and summary["stopped_by"] == "signal"
    assert latest(run / "checkpoints").name == f"step-{summary['steps']:08d}.json"
    probes = [float(t) for t in log.read_text().split()] if log.exists() else []
    assert all(t < sent for t in probes), "a probe ran after the signal"
    env["PROBE_SLEEP"] = "0"
    res = subprocess.run(args + ["--resume", "--steps", "40"], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"


def _as_from_a_terminal() -> None:
    """The child's signal state as a shell gives it: SIGINT and SIGTERM at their defaults and not blocked.  A test
    worker's own state (a blocked or ignored SIGINT inherited across fork and exec) is not the user's, and physgen
    keeps a signal its parent ignored ignored, by design."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


def _rows(path: Path) -> int:
    try:
        return len(path.read_text().splitlines()) - 1
    except FileNotFoundError:
        return 0


def test_probe_due_at_a_signal_runs_on_resume_as_it_would_have(tmp_path):
    """A stop signal that lands on a probe's step skips the probe; the resume runs it at that step, with the
    values and the ``best`` of the uninterrupted run."""
    from physgen.training import train

    rng = np.random.default_rng(0)
    data = save(Dataset(rng.normal(size=(200, 3)).astype(np.float32), "continuous"), tmp_path / "d.h5")
    sets = ["train.progress=false", "train.device=cpu", "train.log_every=1"]

    def sigterm(t):   # seen at the next step's boundary: step 8, one of the probes at 4, 8, …, 20
        if t.step == 7:
            os.kill(os.getpid(), signal.SIGTERM)
    first = train("toy-gauss", data=data, out=tmp_path / "r", steps=20, sets=sets, callbacks=[("on_batch_end", sigterm)])
    assert first["status"] == "terminated" and first["steps"] == 8
    assert first["validation"]["final_step"] == 4   # the probe of step 8 waits for the resume
    resumed = train("toy-gauss", out=tmp_path / "r", resume=True, sets=sets)
    whole = train("toy-gauss", data=data, out=tmp_path / "w", steps=20, sets=sets)
    for key in ("best", "best_step", "final", "final_step"):
        assert resumed["validation"][key] == whole["validation"][key], key

    def val_rows(run):
        with open(run / "metrics.csv") as f:
            return [(r["step"], r["val_score"]) for r in csv.DictReader(f) if r.get("val_score")]
    assert val_rows(tmp_path / "r") == val_rows(tmp_path / "w")


# --- 9. what the training probe cannot resolve ------------------------------------------------------------------
def test_probe_names_what_it_cannot_resolve():
    from physgen.metrics.quality_metrics import _Spins

    line = _Spins.remarks({"c_err": 0.29, "chi_err": 0.59}, {"c_err": 0.30, "chi_err": 1.78})
    assert line == "fluctuations: C 29% (floor 30%), χ not resolved by the probe (floor 178%): judge with physgen evaluate"
    assert _Spins.remarks({"c_err": 0.08, "chi_err": 0.14}, {"c_err": 0.06, "chi_err": 0.11}) == \
        "fluctuations: C 8.0% (floor 6.0%), χ 14% (floor 11%)"


def test_probe_verdict_on_a_wide_floor_is_not_at_floor():
    from physgen.metrics.quality import QualityProbe

    rng = np.random.default_rng(0)
    lattices = np.where(rng.random((8, 4, 4)) < 0.5, 1, -1).astype(np.int8)   # 8 random lattices: a wide floor
    probe = QualityProbe(Dataset(lattices, "spins", attrs={"J": 1.0, "h": 0.0}), condition=None, seed=0)
    floor = probe.floor["score"]
    assert floor > 0.5
    verdict = probe.verdict({"score": floor})
    assert "not resolved by the probe (floor above 50%): judge with physgen evaluate" in verdict
    assert not verdict.endswith("at floor")
    assert "train longer" in probe.verdict({"score": 100 * floor})
