"""The trainer's process-level plumbing: SIGTERM and Ctrl-C as a clean stop, and closing the checkpoint writer without
hiding the error that ended a run."""
from __future__ import annotations

import signal
import sys
import threading

from physgen.training import checkpoint as ckpt


def close_quietly_on_error(writer: ckpt.BackgroundWriter) -> None:
    """Close the checkpoint writer; its own error is raised only when no other exception is propagating."""
    if sys.exc_info()[0] is None:
        writer.close()
        return
    try:
        writer.close()
    except Exception:  # the exception already propagating is the one to report
        pass


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
INTERRUPTED: list = []
"""The trainers a Ctrl-C stopped (cleared by :func:`interrupted`)."""


def interrupted() -> bool:
    """Whether a Ctrl-C stopped a training since the last call (then forgotten)."""
    seen = bool(INTERRUPTED)
    INTERRUPTED.clear()
    return seen


def on_stop_signals(trainer) -> dict | None:
    """Make SIGTERM and a first Ctrl-C (SIGINT) stop training cleanly at the next step boundary, with a checkpoint
    and without the end-of-run probe (batch systems kill ~30 s after SIGTERM: Slurm's KillWait, Kubernetes'
    grace period); a second Ctrl-C interrupts at once (KeyboardInterrupt).  A signal the process ignores (e.g.
    SIGINT of a background job) stays ignored.  Returns the previous handlers for :func:`restore`, or None when
    not in the main thread (signal handlers cannot be set there)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        trainer._terminate = True
        if signum == signal.SIGINT:
            INTERRUPTED.append(trainer)   # the command then exits with 130, as an interrupted program does
            signal.signal(signal.SIGINT, signal.default_int_handler)
    return {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS if signal.getsignal(sig) is not signal.SIG_IGN}


def restore(previous: dict | None) -> None:
    """Put back the handlers :func:`on_stop_signals` replaced."""
    for sig, handler in (previous or {}).items():
        signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
