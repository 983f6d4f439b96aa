"""Whether a change leaves every family's training bit for bit as it was: each registered family is trained four
steps on small data with the working tree's code and with the code of ``--base`` (a commit, checked out into a
temporary git worktree and put first on ``PYTHONPATH``), and every checkpoint file the two runs write is compared
byte for byte.  Then the working tree's run is sampled (``physgen sample RUN --n 64 --seed 0``) by both codes,
and the two sample arrays are compared element for element: with the family's default sampler, with every other
sampler of the field its card names (``--sampler NAME``), and, for a family with a proposal trained on spins,
with ``--mcmc`` and ``--importance``.  A sampler the base does not know is reported and left out.

The data, made once with the working tree's ``physgen``: Ising L = 8 at T = 2, 3 (Wolff, 64 per T; the lattice
families, conditioned on T), the ring toy (tabular families), 8×8 digits (image GANs) and binarized digits
(sgan, dbn), and 128 toy particle clouds (point-cloud families).  One thread, as the records' bit-identity
statements assume.

    python benchmarks/same_checkpoints.py --base HEAD~3
    python benchmarks/same_checkpoints.py --base 6347d87 --families rbm,van
"""
from __future__ import annotations

import argparse
import filecmp
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: family -> the data it trains on here (and whether it is conditioned on the temperature)
DATA = {"conv-vae": "spins", "dbn": "binary", "dcgan": "digits", "ddpm": "spins", "ebm": "spins", "epic-fm": "clouds",
        "epic-gan": "clouds", "flow": "ring", "flow-matching": "spins", "gan": "ring", "rbm": "spins",
        "score-sde": "ring", "sgan": "binary", "thesis-dcgan": "ring", "vae": "spins", "van": "spins",
        "wgan-gp": "ring"}


def physgen(argv: list[str], cwd: Path, pythonpath: str | None = None) -> subprocess.CompletedProcess:
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    exe = Path(sys.executable).with_name("physgen")
    return subprocess.run([str(exe), *argv], cwd=cwd, env=env, capture_output=True, text=True)


def make_data(work: Path) -> None:
    import numpy as np

    from physgen.data import save
    from physgen.data.pointcloud import from_arrays

    for argv in (["data", "ising", "--size", "8", "--temperatures", "2.0,3.0", "--samples", "64", "--algorithm",
                  "wolff", "--out", "spins.h5"], ["data", "toy", "ring", "--n", "512", "--out", "ring.h5"],
                 ["data", "digits", "--out", "digits.h5"], ["data", "digits", "--binarize", "0.5", "--out", "binary.h5"]):
        physgen(argv, work).check_returncode()
    rng = np.random.default_rng(0)
    n, p = 128, 8
    mask = np.arange(p)[None] < rng.choice((3, 6), n)[:, None]
    x = np.stack([rng.normal(0, 0.1, (n, p)), rng.normal(0, 0.1, (n, p)), rng.lognormal(-2, 0.5, (n, p))], 2)
    save(from_arrays(x * mask[..., None], mask, names=["eta_rel", "phi_rel", "pt_rel"]), work / "clouds.h5")


def train(family: str, work: Path, tag: str, pythonpath: str | None) -> Path:
    data = DATA[family]
    cond = ["--condition", "temperature"] if data == "spins" else []
    out = work / tag / family
    run = physgen(["train", family, "--data", f"{data}.h5", *cond, "--out", str(out), "--steps", "4",
                   "--no-progress", "--overwrite"], work, pythonpath)
    if run.returncode:
        raise SystemExit(f"{tag} {family}: {run.stderr.strip().splitlines()[-1]}")
    return out / "checkpoints"


def same_samples(family: str, run: Path, work: Path, pythonpath: str, extra: tuple[str, ...] = ()) -> bool | None:
    """Whether the base code and the working tree draw the same samples from ``run`` (with the ``extra`` flags of
    ``physgen sample``); None where the base refuses them."""
    from physgen.data import load

    drawn = []
    for tag, path in (("new", None), ("old", pythonpath)):
        out = work / f"{family}-{tag}.h5"
        done = physgen(["sample", str(run), "--n", "64", "--seed", "0", *extra, "--out", str(out), "--overwrite"],
                       work, path)
        if done.returncode:
            if tag == "old" and done.returncode == 2:
                return None
            raise SystemExit(f"{tag} {family} sample {' '.join(extra)}: {done.stderr.strip().splitlines()[-1]}")
        drawn.append(load(out).samples)
    return drawn[0].shape == drawn[1].shape and bool((drawn[0] == drawn[1]).all())


def sampler_cases(family: str) -> list[tuple[str, ...]]:
    """The ``physgen sample`` flags of every named sampler of the family's field, and ``--mcmc`` and ``--importance``
    where the family proposes Boltzmann moves on its spin data."""
    from physgen.models import registry
    from physgen.models.base import GenerativeModel
    from physgen.samplers import registry as samplers

    cls = registry.get(family)
    cases = [("--sampler", name) for name in samplers.names(cls.sampler_field)] \
        if cls.sampler_field in ("vp-eps", "ve-score", "velocity", "bipartite") else []
    if DATA[family] == "spins" and cls.proposal is not GenerativeModel.proposal:
        cases += [("--mcmc", "--condition", "temperature=2"), ("--importance", "--condition", "temperature=3")]
    return cases


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", required=True, help="the commit to compare the working tree with")
    p.add_argument("--families", default=",".join(DATA), help="comma list (default: every family)")
    args = p.parse_args(argv)
    families = [f for f in args.families.split(",") if f]
    with tempfile.TemporaryDirectory() as tmp:
        work, base = Path(tmp), Path(tmp) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(base), args.base], check=True)
        try:
            make_data(work)
            differ = compared = 0
            for family in families:
                new, old = train(family, work, "new", None), train(family, work, "old", str(base / "src"))
                files = sorted(f.name for f in old.glob("*.safetensors"))
                same = files == sorted(f.name for f in new.glob("*.safetensors")) and all(
                    filecmp.cmp(old / f, new / f, shallow=False) for f in files)
                drawn = same_samples(family, new.parent, work, str(base / "src"))
                cases = {" ".join(c): same_samples(family, new.parent, work, str(base / "src"), c)
                         for c in sampler_cases(family)}
                bad = [c for c, ok in cases.items() if ok is False]
                differ += not (same and drawn and not bad)
                compared += 1 + sum(ok is not None for ok in cases.values())
                unknown = [c for c, ok in cases.items() if ok is None]
                print(f"{family:<14} {len(files)} checkpoint files: {'identical' if same else 'DIFFERENT'}; samples: "
                      f"{'identical' if drawn else 'DIFFERENT'}; {len(cases) - len(unknown)} named samplers: "
                      f"{'DIFFERENT ' + ', '.join(bad) if bad else 'identical'}"
                      f"{'; not in the base: ' + ', '.join(unknown) if unknown else ''}", flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)
    print(f"{len(families) - differ} of {len(families)} families identical to {args.base} ({compared} sampling cases)")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
