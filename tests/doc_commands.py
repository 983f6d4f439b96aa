"""The ``physgen`` commands of a Markdown page's ```bash blocks, with the lines the page shows them printing:
what tests/test_readme.py and tests/test_getting_started.py run and compare."""
from __future__ import annotations

import re
import shlex

BASH_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)


def page_commands(text: str) -> list[tuple[list[str], list[str]]]:
    """``(argv after "physgen", the printed lines shown under it)`` for every ``physgen`` line of the ```bash
    blocks of ``text`` (backslash continuations joined, trailing comments dropped), in order; the printed lines
    are the ``#`` comment lines that follow a command."""
    out: list[tuple[list[str], list[str]]] = []
    for block in BASH_BLOCK.findall(text):
        current = None
        for line in re.sub(r"\\\n", " ", block).splitlines():
            stripped = line.strip()
            if stripped.startswith("#") and current is not None:
                current[1].append(stripped.lstrip("#").strip())
                continue
            words = shlex.split(line, comments=True)
            current = (words[1:], []) if words and words[0] == "physgen" else None
            if current is not None:
                out.append(current)
    return out
