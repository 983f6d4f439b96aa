"""A self-contained HTML report: sections of text, tables and figures embedded as base64 PNG.

Used by ``physgen evaluate``, ``physgen analyze`` and ``physgen demo``.  Figures are matplotlib
figures rendered once at build time; the file has no external references.
"""
from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from physgen.atomic import write_text

_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{border-bottom:2px solid #444}h2{border-bottom:1px solid #bbb;margin-top:2em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}img{max-width:100%}
.fail{color:#a00}.note{color:#555;font-size:90%}pre{background:#f6f6f6;padding:.5em;overflow-x:auto}"""


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed), unless pyplot is imported already: then the
    caller's backend is kept (in a Jupyter notebook, the inline backend that shows figures in the cell)."""
    import sys

    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure_png(fig, dpi: int = 100) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


@dataclass
class Report:
    """Accumulates HTML blocks; :meth:`write` saves one self-contained file atomically."""

    title: str
    blocks: list[str] = field(default_factory=list)

    def section(self, title: str, anchor: str | None = None) -> "Report":
        anchor_attr = f' id="{html.escape(anchor)}"' if anchor else ""
        self.blocks.append(f"<h2{anchor_attr}>{html.escape(title)}</h2>")
        return self

    def text(self, text: str, cls: str | None = None) -> "Report":
        cls_attr = f' class="{cls}"' if cls else ""
        self.blocks.append(f"<p{cls_attr}>{html.escape(text)}</p>")
        return self

    def code(self, text: str) -> "Report":
        self.blocks.append(f"<pre>{html.escape(text)}</pre>")
        return self

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str = "{:.4g}") -> "Report":
        def cell(v: Any) -> str:
            return html.escape(fmt.format(v) if isinstance(v, float) else str(v))
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
        self.blocks.append(f"<table><tr>{head}</tr>{body}</table>")
        return self

    def image(self, png: bytes, alt: str = "figure") -> "Report":
        data = base64.b64encode(png).decode("ascii")
        self.blocks.append(f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">')
        return self

    def figure(self, fig, alt: str = "figure", save_as: str | Path | None = None) -> "Report":
        """Embed a matplotlib figure (and optionally also write it as a PNG file)."""
        png = figure_png(fig)
        if save_as is not None:
            from physgen.atomic import write_bytes
            write_bytes(save_as, png)
        return self.image(png, alt)

    def raw(self, fragment: str) -> "Report":
        """Append trusted HTML produced by physgen itself."""
        self.blocks.append(fragment)
        return self

    def render(self) -> str:
        body = "\n".join(self.blocks)
        return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>"
                f"<style>{_CSS}</style></head><body><h1>{html.escape(self.title)}</h1>\n{body}\n</body></html>\n")

    def write(self, path: str | Path) -> Path:
        return write_text(path, self.render())
