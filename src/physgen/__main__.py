"""``python -m physgen`` runs the command line."""
from physgen.cli import main

raise SystemExit(main())
