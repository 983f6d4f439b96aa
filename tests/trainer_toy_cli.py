"""``python tests/trainer_toy_cli.py ARGS`` = ``physgen ARGS`` with the test-only toy model registered."""
import trainer_toy  # noqa: F401  (registers toy-gauss)

from physgen.cli import main

raise SystemExit(main())
