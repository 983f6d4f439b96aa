"""The 40-line example family of docs/training.md is a whole family: run from the page, registered, trained by
``physgen.training.train`` with its defaults and a budget, sampled, and its maximum-likelihood fit is right."""
import re
from pathlib import Path

import numpy as np

from physgen.data import Dataset, load, save

PAGE = Path(__file__).resolve().parents[1] / "docs" / "training.md"


def _family_source() -> str:
    text = PAGE.read_text(encoding="utf-8")
    match = re.search(r"<!-- example-family -->\n```python\n(.*?)```", text, flags=re.S)
    assert match, "docs/training.md: no example-family block"
    return match.group(1)


def test_the_documented_family_trains_and_samples(tmp_path):
    source = _family_source()
    assert len(source.strip().splitlines()) <= 50
    from physgen.models import registry

    if "gauss-example" not in registry.names():
        exec(compile(source, str(PAGE), "exec"), {"__name__": "docs_training_example"})
    rng = np.random.default_rng(0)
    x = rng.normal([1.0, -2.0], [0.5, 2.0], size=(2000, 2)).astype(np.float32)
    data = save(Dataset(x, "continuous", attrs={"feature_names": ["a", "b"]}), tmp_path / "g.h5")
    from physgen.training import load_run, train

    sets = ["train.lr=0.05", "train.schedule=cosine", "train.progress=false"]
    summary = train("gauss-example", data=data, out=tmp_path / "run", steps=600, sets=sets)
    assert summary["status"] == "completed" and summary["steps"] == 600
    run = load_run(tmp_path / "run", which="latest")  # (best: chosen by time-scheduled probes)
    # data.transform=auto standardises: in data space the samples carry the data's mean and spread
    fake = run.sample(4000, seed=1).samples
    np.testing.assert_allclose(fake.mean(0), x.mean(0), atol=0.15)
    np.testing.assert_allclose(fake.std(0), x.std(0), rtol=0.1)
    assert load(data).samples.shape == (2000, 2)
