"""``python tests/ddp_kill_cli.py ARGS`` = ``physgen ARGS``, except that the process of rank ``KILL_RANK`` kills
itself with SIGKILL right after optimizer step ``KILL_STEP``: a ``kill -9`` of one rank at a known point of a
``torchrun`` run."""
import os
import signal

from physgen.cli import main
from physgen.training.trainer import Trainer

_periodic = Trainer._periodic


def _periodic_then_kill(self, **options):
    _periodic(self, **options)
    if self.ctx.rank == int(os.environ["KILL_RANK"]) and self.step == int(os.environ["KILL_STEP"]):
        os.kill(os.getpid(), signal.SIGKILL)


Trainer._periodic = _periodic_then_kill
raise SystemExit(main())
