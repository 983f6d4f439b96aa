"""``physgen data import FILE.root``: flat, fixed-size and jagged branches (uproot); bad files refused."""
from __future__ import annotations

import numpy as np
import pytest

uproot = pytest.importorskip("uproot")
ak = pytest.importorskip("awkward")

from physgen.data import load  # noqa: E402

JETS = [[50.0, 30.0], [], [40.0], [90.0, 60.0, 25.0], [70.0]]


@pytest.fixture
def root_file(tmp_path):
    """A TTree ``events`` (flat ``met``, int ``njet``, fixed ``v[3]``, jagged ``jet_pt``) and an RNTuple ``other``."""
    data = {"met": np.array([10.0, 20.0, 30.0, 40.0, 50.0]), "nj": np.array([2, 0, 1, 3, 1], dtype=np.int32),
            "v": np.arange(15.0).reshape(5, 3), "jet_pt": ak.Array(JETS)}
    path = tmp_path / "events.root"
    with uproot.recreate(path) as f:
        f.mktree("events", {"met": np.float64, "nj": np.int32, "v": (np.float64, (3,)), "jet_pt": data["jet_pt"].type})
        f["events"].extend(data)
        f["other"] = {"x": np.arange(3.0)}
    return path


def test_flat_and_fixed_branches(cli, root_file, tmp_path):
    out = tmp_path / "flat.h5"
    code, stdout, err = cli("data", "import", root_file, "--tree", "events", "--branches", "met,nj,v", "--out", out)
    assert code == 0, err
    ds = load(out)
    assert ds.feature_names == ["met", "nj", "v_0", "v_1", "v_2"] and ds.kind == "continuous"
    np.testing.assert_array_equal(ds.samples[:, 0], [10, 20, 30, 40, 50])
    np.testing.assert_array_equal(ds.samples[:, 2:], np.arange(15.0).reshape(5, 3))
    assert ds.attrs["source"] == "root" and ds.attrs["tree"] == "events"


def test_jagged_branch_padded_with_mask(cli, root_file, tmp_path):
    out = tmp_path / "jets.h5"
    assert cli("data", "import", root_file, "--tree", "events", "--branches", "jet_pt", "--pad", "2", "--out", out)[0] == 0
    ds = load(out)
    assert ds.feature_names == ["jet_pt_0", "jet_pt_1", "jet_pt_mask_0", "jet_pt_mask_1"] and ds.attrs["pad"] == 2
    np.testing.assert_array_equal(ds.samples, [[50, 30, 1, 1], [0, 0, 0, 0], [40, 0, 1, 0], [90, 60, 1, 1],
                                               [70, 0, 1, 0]])


def test_rntuple_and_single_tree_default(cli, tmp_path):
    path = tmp_path / "one.root"
    with uproot.recreate(path) as f:
        f["nt"] = {"x": np.arange(4.0), "y": np.ones(4)}
    out = tmp_path / "one.h5"
    assert cli("data", "import", path, "--out", out)[0] == 0
    assert load(out).feature_names == ["x", "y"] and load(out).samples.shape == (4, 2)


@pytest.mark.parametrize("args, expect", [
    (("--tree", "nope"), "no tree 'nope'"),
    (("--tree", "events", "--branches", "met,nope"), "no branch 'nope'"),
    (("--tree", "events", "--branches", "jet_pt"), "--pad"),
    (("--tree", "events"), "--pad"),                     # every branch, one of them jagged
    ((), "--tree"),                                      # two trees: name one
    (("--tree", "events", "--pad", "0"), "--pad"),
    (("--tree", "events", "--columns", "met"), "--columns"),
])
def test_bad_root_input(cli, root_file, tmp_path, args, expect):
    out = tmp_path / "bad.h5"
    code, stdout, err = cli("data", "import", root_file, *args, "--out", out)
    assert code == 2 and stdout == "" and err.strip().count("\n") == 0 and expect in err, err
    assert not out.exists()


def test_not_a_root_file_and_root_options_elsewhere(cli, tmp_path):
    fake = tmp_path / "fake.root"
    fake.write_bytes(b"not root at all" * 10)
    out = tmp_path / "bad.h5"
    code, _, err = cli("data", "import", fake, "--out", out)
    assert code == 2 and "not a readable ROOT file" in err and err.count("\n") == 1 and not out.exists()
    code, _, err = cli("data", "import", tmp_path / "missing.root", "--out", out)
    assert code == 2 and "no such file" in err
    txt = tmp_path / "a.txt"
    txt.write_text("1 2\n3 4\n")
    code, _, err = cli("data", "import", txt, "--tree", "t", "--out", out)
    assert code == 2 and "--tree" in err and not out.exists()
