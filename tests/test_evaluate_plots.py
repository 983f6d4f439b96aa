"""The evaluation report's pair plots: generated samples outside the data's range are counted, never divided by."""
import warnings

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from physgen.report.evaluate_plots import pair_plots  # noqa: E402


@pytest.mark.parametrize("shift, share", [(0.0, "generated"), (100.0, "generated (100% outside)")])
def test_pair_plot_titles_count_samples_outside_the_data_range(shift, share):
    real = np.random.default_rng(0).normal(size=(200, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # no 0/0 density where nothing falls in the range
        fig = pair_plots(real, real + shift, ["a", "b", "c"])
    generated = [ax.get_title() for ax in fig.axes if ax.get_title().startswith("generated")]
    assert generated and set(generated) == {share}


def test_pair_plot_of_a_constant_feature():
    real = np.random.default_rng(1).normal(size=(50, 2))
    real[:, 1] = 3.0
    fig = pair_plots(real, real, ["a", "b"])
    assert [ax.get_title() for ax in fig.axes] == ["real", "generated"]
