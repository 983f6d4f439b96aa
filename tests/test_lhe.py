"""LHE files: Pythia events written as LHE and imported back give identical features; bad files refused."""
from __future__ import annotations

import gzip

import h5py
import numpy as np
import pytest

pytest.importorskip("pythia8mc")
pytest.importorskip("pylhe")

from physgen.data import load  # noqa: E402
from physgen.data.hep import features as F  # noqa: E402
from physgen.data.hep.lhe import read_lhe, write_lhe  # noqa: E402

GEN = ("data", "pythia", "--process", "ttbar", "--ecm", "13000", "--n", "60", "--seed", "2")


def _samples(path) -> np.ndarray:
    with h5py.File(path, "r") as f:
        return f["samples"][()]


@pytest.fixture(scope="module")
def pythia_pair(tmp_path_factory):
    """(h5 from physgen data pythia, the same events as LHE) with every hard-level feature."""
    from physgen.cli import main

    d = tmp_path_factory.mktemp("lhe")
    h5, lhe = d / "tt.h5", d / "tt.lhe"
    assert main([*GEN, "--out", str(h5), "--lhe", str(lhe)]) == 0
    return h5, lhe


def test_round_trip_gives_identical_features(cli, pythia_pair, tmp_path):
    h5, lhe = pythia_pair
    out = tmp_path / "back.h5"
    code, stdout, err = cli("data", "import", lhe, "--out", out)
    assert code == 0, err
    back = load(out)
    assert back.feature_names == load(h5).feature_names == list(F.HARD_FEATURES)
    assert _samples(out).tobytes() == _samples(h5).tobytes()
    assert back.attrs["ecm"] == 13000.0 and back.attrs["source"] == "lhe"
    assert back.attrs["sigma_pb"] == pytest.approx(load(h5).attrs["sigma_pb"], rel=1e-12)


def test_round_trip_thesis_features_and_gzip(cli, pythia_pair, tmp_path):
    _, lhe = pythia_pair
    kin, init = read_lhe(lhe)
    assert np.all(kin["id3"] == 6) and init["ecm"] == 13000.0
    gz = tmp_path / "tt.lhe.gz"
    write_lhe(gz, kin, ecm=init["ecm"], sigma_pb=init["sigma_pb"])
    kin2, _ = read_lhe(gz)
    for key in kin:
        np.testing.assert_array_equal(kin[key], kin2[key])
    ref = tmp_path / "ref.h5"
    assert cli(*GEN, "--features", "s,t,y", "--out", ref)[0] == 0
    out = tmp_path / "sty.h5"
    assert cli("data", "import", gz, "--columns", "s,t,y", "--out", out)[0] == 0
    assert _samples(out).tobytes() == _samples(ref).tobytes()


def test_p3_is_the_top_even_when_listed_second(tmp_path):
    """An LHE file listing the antitop before the top gives p₃ = top, as in Pythia events."""
    e, pz, m = 300.0, 150.0, 173.0
    top = (0.0, 0.0, pz)
    text = (f'<LesHouchesEvents version="3.0">\n<init>\n2212 2212 6500.0 6500.0 0 0 0 0 3 1\n500.0 5.0 1.0 1\n'
            f'</init>\n<event>\n4 1 1.0 -1.0 -1.0 -1.0\n'
            f'21 -1 0 0 501 502 0.0 0.0 {e} {e} 0.0 0.0 9.0\n21 -1 0 0 502 503 0.0 0.0 -{e} {e} 0.0 0.0 9.0\n'
            f'-6 1 1 2 0 503 0.0 0.0 -{pz} {e} {np.sqrt(e**2 - pz**2)} 0.0 9.0\n'
            f'6 1 1 2 501 0 {top[0]} {top[1]} {pz} {e} {np.sqrt(e**2 - pz**2)} 0.0 9.0\n</event>\n'
            f'</LesHouchesEvents>\n')
    path = tmp_path / "flip.lhe"
    path.write_text(text)
    kin, _ = read_lhe(path)
    assert kin["id3"][0] == 6 and kin["p3"][0, 3] == pz
    f = F.hard_features(kin, 13000.0)
    assert f["t"][0] == pytest.approx(-2 * (e * e - e * pz))
    assert f["shat"][0] == pytest.approx(4 * e * e) and abs(m - np.sqrt(e**2 - pz**2)) < 200


def _refused(cli, tmp_path, path, expect):
    out = tmp_path / "out.h5"
    code, stdout, err = cli("data", "import", path, "--out", out)
    assert code == 2 and stdout == "" and err.strip().count("\n") == 0 and expect in err, err
    assert not out.exists()


def test_bad_lhe_files(cli, pythia_pair, tmp_path):
    _, lhe = pythia_pair
    text = lhe.read_text()
    (tmp_path / "garbage.lhe").write_text("this is not an LHE file\n1 2 3\n")
    _refused(cli, tmp_path, tmp_path / "garbage.lhe", "garbage.lhe")
    (tmp_path / "cut.lhe").write_text(text[: len(text) // 2])
    _refused(cli, tmp_path, tmp_path / "cut.lhe", "truncated")
    (tmp_path / "cut2.lhe").write_text(text[: text.index("</event>") + 9])
    _refused(cli, tmp_path, tmp_path / "cut2.lhe", "truncated")
    with gzip.open(tmp_path / "cut.lhe.gz", "wb") as f:
        f.write(text.encode())
    (tmp_path / "cut3.lhe.gz").write_bytes((tmp_path / "cut.lhe.gz").read_bytes()[:-200])
    _refused(cli, tmp_path, tmp_path / "cut3.lhe.gz", "cut3.lhe.gz")
    (tmp_path / "empty.lhe").write_text(text[: text.index("<event>")] + "</LesHouchesEvents>\n")
    _refused(cli, tmp_path, tmp_path / "empty.lhe", "no <event>")
    extra = "21 1 1 2 0 0 1.0 0.0 0.0 1.0 0.0 0.0 9.0\n</event>"
    three = text.replace("<event>\n4 ", "<event>\n5 ", 1).replace("</event>", extra, 1)
    (tmp_path / "three.lhe").write_text(three)
    _refused(cli, tmp_path, tmp_path / "three.lhe", "2 → 2")
    _refused(cli, tmp_path, tmp_path / "missing.lhe", "no such file")


def test_lhe_option_errors(cli, tmp_path):
    out = tmp_path / "x.h5"
    code, _, err = cli(*GEN, "--out", out, "--lhe", tmp_path / "x.txt")
    assert code == 2 and "--lhe" in err and not out.exists()
    code, _, err = cli("data", "import", tmp_path / "x.lhe", "--kind", "binary", "--out", out)
    assert code == 2 and "--kind" in err


def test_decayed_tops_are_the_outgoing_pair(pythia_pair, tmp_path):
    """Tops written with status 2 and their decay products (as MadGraph does with decays) still give p₃, p₄ = t, t̄."""
    _, lhe = pythia_pair
    kin, _ = read_lhe(lhe)
    text = lhe.read_text()
    first = text.index("<event>")
    end = text.index("</event>", first)
    block = text[first:end].splitlines()
    header, particles = block[1], block[2:]
    tops = [line.replace(" 1 1 2 ", " 2 1 2 ", 1) for line in particles[2:]]
    daughters = ["5 1 3 3 0 0 0.0 0.0 0.0 1.0 0.0 0.0 9.0", "-5 1 4 4 0 0 0.0 0.0 0.0 1.0 0.0 0.0 9.0"]
    new = "\n".join(["<event>", "6" + header[1:], *particles[:2], *tops, *daughters]) + "\n"
    path = tmp_path / "decayed.lhe"
    path.write_text(text[:first] + new + text[end:])
    back, _ = read_lhe(path)
    assert back["id3"][0] == 6
    for key in ("p1", "p2", "p3", "p4", "x1", "x2"):
        np.testing.assert_array_equal(back[key], kin[key])
