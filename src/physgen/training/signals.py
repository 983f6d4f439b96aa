"""The trainer's process-level plumbing: SIGTERM as a clean stop, and closing the checkpoint writer without
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


def on_sigterm(trainer):
    """Make SIGTERM stop training cleanly at the next step boundary (with a checkpoint); returns the
    previous handler, or None when not in the main thread (signal handlers cannot be set there)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        trainer._terminate = True
    return signal.signal(signal.SIGTERM, handler)
