"""MkDocs hooks of the documentation site (``hooks:`` in mkdocs.yml; ``make docs`` builds it).

The site mirrors the repository's layout, so that the relative links written for reading the Markdown files in
the repository (``docs/rbm.md`` → ``../benchmarks/records/rbm.md``, README.md → ``docs/demo.md``) resolve
unchanged in the site:

* the pages of ``docs/`` keep their ``docs/`` prefix; README.md is the home page; ``notebooks/``,
  ``examples/README.md`` and ``benchmarks/records/`` are added from outside ``docs_dir`` (:data:`SOURCES`);
* one API page per subpackage of ``src/physgen`` (and one for its top-level modules) is generated under
  ``reference/``, rendered by mkdocstrings from the docstrings (:func:`api_pages`);
* a nav entry that is a glob pattern (``notebooks/[0-9][0-9]_*.py``, ``reference/*.md``) stands for every
  matching page not listed elsewhere in the nav, sorted by path (:func:`expand_nav`), so that a new notebook or
  record enters the nav without an edit;
* the notebooks are executed at build time in quick mode (``PHYSGEN_QUICK=1`` unless set), with inline
  figures and their data files in a temporary folder; mkdocs-jupyter caches each executed notebook under
  ``build/docs-cache/`` keyed by the notebook, its options and the source of ``src/physgen``, so a rebuild
  executes only what changed; links of the notebooks' cells to Markdown files point to the pages made of them,
  a notebook's title is its first heading as plain text, and its table of contents links to its headings;
* nothing is loaded from outside the site: the MathJax and mermaid loaders that nbconvert's template points at
  a CDN are dropped from the notebook pages (their math shows as TeX source), and Sphinx roles of the
  docstrings (``:func:`~physgen.stats.bootstrap```) become links to the API pages, or code where the target
  is not documented.

The functions that describe the site (:func:`site_sources`, :func:`api_pages`, :func:`expand_nav`) need only
the standard library, so that the fast tests check the nav without MkDocs installed.
"""
from __future__ import annotations

import fnmatch
import hashlib
import os
import posixpath
import re
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PACKAGE = ROOT / "src" / "physgen"
NOTEBOOKS = "notebooks/[0-9][0-9]_*.py"
# Files outside docs/ that the site carries (glob patterns relative to the repository root).
SOURCES = ("README.md", "notebooks/README.md", NOTEBOOKS, "examples/README.md", "benchmarks/records/*.md",
           "benchmarks/records/acceptance/*.json")
REFERENCE = "reference"
CACHE = ROOT / "build" / "docs-cache"
GLOB_CHARS = re.compile(r"[*?\[]")


def site_sources() -> list[str]:
    """Every repository file the site is built from, as POSIX paths relative to the repository root."""
    paths = {p for p in (ROOT / "docs").rglob("*")
             if p.is_file() and not any(part.startswith(".") for part in p.relative_to(ROOT).parts)}
    for pattern in SOURCES:
        paths.update(ROOT.glob(pattern))
    return sorted(p.relative_to(ROOT).as_posix() for p in paths)


def api_pages() -> dict[str, str]:
    """``reference/NAME.md`` → its Markdown: one page per subpackage of physgen and one for the top-level modules."""
    pages = {}
    modules = sorted(p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("_"))
    lines = ["# physgen", "", "The top-level modules of the package; each subpackage has its own page.", ""]
    lines += [f"::: physgen.{name}\n    options:\n      show_root_heading: true\n" for name in modules]
    pages[f"{REFERENCE}/physgen.md"] = "\n".join(lines)
    for sub in sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py")):
        pages[f"{REFERENCE}/{sub}.md"] = f"# physgen.{sub}\n\n::: physgen.{sub}\n"
    return pages


def nav_paths(nav) -> list[str]:
    """The page paths of a nav (a list of paths, {title: path} and {title: [...]} entries), in order."""
    out = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        if isinstance(value, list):
            out += nav_paths(value)
        elif isinstance(value, str):
            out.append(value)
    return out


def expand_nav(nav, available: list[str] | None = None):
    """The nav with each glob-pattern entry replaced by the pages it matches that the nav does not list
    elsewhere (sorted by path); ``available`` is every page path (default: :func:`site_sources` and the API
    pages)."""
    if available is None:
        available = site_sources() + list(api_pages())
    listed = {p for p in nav_paths(nav) if not GLOB_CHARS.search(p)}

    def expand(entries):
        out = []
        for entry in entries:
            title, value = next(iter(entry.items())) if isinstance(entry, dict) else (None, entry)
            if isinstance(value, list):
                out.append({title: expand(value)})
            elif isinstance(value, str) and GLOB_CHARS.search(value):
                out += sorted(p for p in available if fnmatch.fnmatchcase(p, value) and p not in listed)
            else:
                out.append(entry)
        return out

    return expand(nav)


def _source_digest() -> str:
    """A digest of the package source and the quick-mode switch: the key of the notebook cache."""
    h = hashlib.sha256(os.environ.get("PHYSGEN_QUICK", "1").encode())
    for path in sorted(PACKAGE.rglob("*.py")):
        h.update(path.relative_to(PACKAGE).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


_run_dir: str | None = None


def on_config(config):
    global _run_dir
    config.nav = expand_nav(config.nav)
    # The notebooks' kernels inherit this environment: quick mode, figures inline, data files in a temporary
    # folder (removed after the build).
    os.environ.setdefault("PHYSGEN_QUICK", "1")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    _run_dir = tempfile.mkdtemp(prefix="physgen-docs-")
    os.environ["PHYSGEN_NOTEBOOK_OUT"] = _run_dir
    jupyter = config.plugins.get("mkdocs-jupyter")
    if jupyter is not None and jupyter.config.get("cache"):
        digest = _source_digest()
        for stale in CACHE.glob("*"):
            if stale.name != digest:
                shutil.rmtree(stale, ignore_errors=True)
        jupyter.config["cache_dir"] = str(CACHE / digest)
    return config


def on_files(files, config):
    from mkdocs.structure.files import File, Files, InclusionLevel

    docs_dir = Path(config.docs_dir).resolve()
    # the theme's and plugins' files stay; those of docs/ come back under docs/ with the rest of the repository's
    site = [f for f in files if f.abs_src_path is None or not Path(f.abs_src_path).resolve().is_relative_to(docs_dir)]
    site += [File(path, str(ROOT), config.site_dir, config.use_directory_urls, inclusion=InclusionLevel.INCLUDED)
             for path in site_sources()]
    site += [File.generated(config, uri, content=text, inclusion=InclusionLevel.INCLUDED)
             for uri, text in api_pages().items()]
    return Files(site)


on_files.mkdocs_priority = 100  # before mkdocs-jupyter's on_files, which turns the notebooks into pages

_LOADERS = re.compile(
    r'<script\b[^>]*\bsrc="(?:https?://[^"]*)?"[^>]*>\s*</script>'        # MathJax: a CDN, or src="" (this page)
    r'|<script type="text/x-mathjax-config">.*?</script>'              # its configuration
    r'|<script type="module">(?:(?!</script>).)*https?://.*?</script>',  # mermaid, imported from a CDN
    re.S)
# A Sphinx role as Markdown renders it: :func:<code>~physgen.x.f</code>, :class:<code>Title &lt;physgen.x.C&gt;</code>
_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|exc|obj|const):<code>(~?)([^<]*)</code>")
_TITLED = re.compile(r"(.*?)\s*&lt;([\w.]+)&gt;", re.S)


def _role_link(match: re.Match) -> str:
    short, text = match.groups()
    if titled := _TITLED.fullmatch(text):
        title, target = titled.groups()
    else:
        target = re.sub(r"\s+", "", text).removesuffix("()")
        title = target.rsplit(".", 1)[-1] if short else target
    if not re.fullmatch(r"[\w.]+", target):
        return f"<code>{text}</code>"
    return f'<autoref identifier="{target}" optional><code>{title}</code></autoref>'


_MD_LINK = re.compile(r'href="(?![a-z][a-z0-9+.-]*:|/|#)([^"#]+\.md)(#[^"]*)?"')


def _notebook_links(html: str, page, files) -> str:
    """Relative links to Markdown files in a notebook's cells point to the pages made from them, as MkDocs does
    for the links of its Markdown pages."""

    def repl(match: re.Match) -> str:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(page.file.src_uri), match.group(1)))
        file = files.get_file_from_path(target)
        if file is None:
            return match.group(0)
        return f'href="{file.url_relative_to(page.file)}{match.group(2) or ""}"'

    return _MD_LINK.sub(repl, html)


def _notebook_title(path: str) -> str | None:
    """The notebook's first heading as plain text (without the backticks and dollars of code and math)."""
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith("# # "):
            return re.sub(r"[`$]", "", line[4:]).strip()
    return None


_HEADING = re.compile(r'<h([1-6]) id="([^"]+)"[^>]*>(.*?)</h\1>', re.S)
_ANCHOR_LINK = re.compile(r'<a class="anchor-link"[^>]*>.*?</a>', re.S)


def _toc_items(toc):
    for item in toc:
        yield item
        yield from _toc_items(item.children)


def _align_toc(html: str, page) -> None:
    """The table of contents of a notebook page takes the ids and titles of the page's headings, in order
    (mkdocs-jupyter derives its entries separately, and drops the code of a heading such as `epic-fm`: ...)."""
    headings = [(id_, _ANCHOR_LINK.sub("", inner).strip()) for _, id_, inner in _HEADING.findall(html)]
    items = list(_toc_items(page.toc))
    if len(items) == len(headings):
        for item, (id_, title) in zip(items, headings):
            item.id, item.title = id_, title


def on_page_content(html, page, config, files):
    src = page.file.src_uri
    if fnmatch.fnmatchcase(src, NOTEBOOKS):
        html = _notebook_links(_LOADERS.sub("", html), page, files)
        _align_toc(html, page)
        page.title = _notebook_title(page.file.abs_src_path) or page.title
    elif src.startswith(f"{REFERENCE}/"):
        html = _ROLE.sub(_role_link, html)
    return html


def on_post_build(config):
    if _run_dir is not None:
        shutil.rmtree(_run_dir, ignore_errors=True)


def on_build_error(error):
    on_post_build(None)
