"""The command line's allocator settings: on Linux with glibc, ``physgen`` fixes malloc's mmap and trim thresholds
(``mallopt``) so that freed tensor memory is reused instead of faulted in anew; a user's own ``MALLOC_*``
settings, another platform or a libc without ``mallopt`` leave the allocator alone."""
from __future__ import annotations

import sys

import pytest

import physgen.cli.process as cli


class _Libc:
    def __init__(self):
        self.calls = []
        self.mallopt = _Recorder(self.calls)


class _Recorder:
    def __init__(self, calls):
        self.calls, self.argtypes, self.restype = calls, None, None

    def __call__(self, param, value):
        self.calls.append((param, value))
        return 1


@pytest.fixture
def libc(monkeypatch):
    fake = _Libc()
    monkeypatch.setattr(cli.ctypes, "CDLL", lambda name: fake)
    monkeypatch.setattr(cli.sys, "platform", "linux")
    for key in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"):
        monkeypatch.delenv(key, raising=False)
    return fake


def test_the_mmap_and_trim_thresholds_are_fixed(libc):
    cli.keep_freed_memory()
    assert libc.calls == [(-3, 32 << 20), (-1, 64 << 20)]      # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD


@pytest.mark.parametrize("key", ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"])
def test_a_users_own_malloc_setting_stands(libc, monkeypatch, key):
    monkeypatch.setenv(key, "131072")
    cli.keep_freed_memory()
    assert libc.calls == []


def test_other_platforms_and_libcs_are_left_alone(libc, monkeypatch):
    monkeypatch.setattr(cli.sys, "platform", "darwin")
    cli.keep_freed_memory()
    assert libc.calls == []
    monkeypatch.setattr(cli.sys, "platform", "linux")
    monkeypatch.setattr(cli.ctypes, "CDLL", lambda name: object())      # no mallopt (e.g. musl)
    cli.keep_freed_memory()
    assert libc.calls == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_glibc_accepts_the_thresholds():
    try:
        mallopt = cli.ctypes.CDLL(None).mallopt
    except AttributeError:
        pytest.skip("this libc has no mallopt")
    assert mallopt(-3, cli.MMAP_THRESHOLD) == 1 and mallopt(-1, cli.TRIM_THRESHOLD) == 1
