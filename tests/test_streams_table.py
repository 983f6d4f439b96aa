"""Every seeded stream is listed once, in physgen.streams' table, with its kind; no two share a salt."""
from __future__ import annotations

import re

from physgen import streams


def test_the_table_lists_every_stream_once_with_its_kind():
    rows = dict(re.findall(r"^``([a-z-]+)``\s+(run|step)\s", streams.__doc__, flags=re.M))
    expected = {**{name: "run" for name in streams.STREAMS}, **{name: "step" for name in streams.STEP_STREAMS}}
    assert rows == expected
    assert len(set(streams.STREAMS.values())) == len(streams.STREAMS)
    assert sorted(streams.STEP_STREAMS.values()) == list(range(len(streams.STEP_STREAMS)))
