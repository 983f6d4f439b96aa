"""The documentation site: mkdocs.yml, its hooks (mkdocs_hooks.py) and ``make docs``.

Fast, without MkDocs: the nav lists every page of docs/, every notebook, the notebooks' and the examples' index
and every benchmark record, each entry of the nav is a file of the repository or a generated API page, and
every relative link of the Markdown the site carries points to a file the site carries.

Slow: ``mkdocs build --strict`` into ``tmp_path`` (the notebooks executed in quick mode; the build reuses the
executed notebooks that ``make docs`` cached under build/docs-cache/ for the same package source), then the
built HTML: no script, style sheet, font, image or frame from outside the site, and every internal link and
image resolves to a file of the site (and to an element of the page where it names an anchor). Then headless
Chromium (the Debian packages ``chromium`` and ``chromium-driver``, driven by selenium with the driver's path
given, so that selenium fetches nothing) loads every page from a local HTTP server and asserts that every
image has loaded (``naturalWidth > 0``), that every notebook page shows at least one figure of its outputs,
that no request leaves the local server and that no page logs an error to the console.
"""
from __future__ import annotations

import functools
import html.parser
import http.server
import importlib.util
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
DOCS_MODULES = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python", "mkdocs_jupyter", "selenium")


def _hooks():
    spec = importlib.util.spec_from_file_location("physgen_mkdocs_hooks", ROOT / "mkdocs_hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _nav() -> list:
    """The nav of mkdocs.yml as it is read (its glob entries not expanded)."""
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]


def test_nav_lists_every_page_and_each_entry_exists():
    hooks = _hooks()
    pages = hooks.nav_paths(hooks.expand_nav(_nav()))
    assert len(pages) == len(set(pages)), sorted(p for p in pages if pages.count(p) > 1)
    generated = hooks.api_pages()
    missing = [p for p in pages if p not in generated and not (ROOT / p).is_file()]
    assert not missing, f"nav entries without a file: {missing}"
    required = [p.relative_to(ROOT).as_posix() for pattern in ("docs/*.md", "notebooks/[0-9][0-9]_*.py",
                                                               "benchmarks/records/*.md")
                for p in sorted(ROOT.glob(pattern))]
    required += ["README.md", "notebooks/README.md", "examples/README.md", *generated]
    assert not set(required) - set(pages), f"pages missing from the nav: {sorted(set(required) - set(pages))}"
    notebooks = [p for p in pages if p.startswith("notebooks/") and p.endswith(".py")]
    assert notebooks == sorted(notebooks) and notebooks[0] == "notebooks/00_tour.py", notebooks


def test_nav_patterns_pick_up_new_notebooks_and_records():
    """A glob entry stands for the files that match it and are not listed elsewhere, sorted by path."""
    hooks = _hooks()
    nav = [{"Notebooks": ["notebooks/README.md", "notebooks/[0-9][0-9]_*.py"]},
           {"Records": ["benchmarks/records/README.md", "benchmarks/records/*.md"]}]
    available = ["notebooks/README.md", "notebooks/17_new.py", "notebooks/00_tour.py", "notebooks/helper.py",
                 "benchmarks/records/README.md", "benchmarks/records/z.md", "benchmarks/records/a.md"]
    assert hooks.expand_nav(nav, available) == [
        {"Notebooks": ["notebooks/README.md", "notebooks/00_tour.py", "notebooks/17_new.py"]},
        {"Records": ["benchmarks/records/README.md", "benchmarks/records/a.md", "benchmarks/records/z.md"]}]


def test_api_pages_cover_every_subpackage():
    hooks = _hooks()
    pages = hooks.api_pages()
    subpackages = sorted(p.parent.name for p in (ROOT / "src" / "physgen").glob("*/__init__.py"))
    assert subpackages and all(f"reference/{name}.md" in pages for name in subpackages), sorted(pages)
    assert all(f"::: physgen.{name}\n" in pages[f"reference/{name}.md"] for name in subpackages)


def test_relative_links_of_the_site_resolve_within_the_site():
    """docs/*.md link to ../benchmarks/records/, ../examples/ and ../notebooks/, and the notebooks to ../docs/:
    the site carries them all."""
    hooks = _hooks()
    carried = set(hooks.site_sources()) | set(hooks.api_pages())
    dead = []
    for page in sorted(p for p in carried if p.endswith((".md", ".py")) and (ROOT / p).is_file()):
        text = (ROOT / page).read_text(encoding="utf-8")
        if page.endswith(".py"):  # a notebook: the links of its Markdown cells (comment lines)
            text = "\n".join(line for line in text.splitlines() if line.startswith("#"))
        for target in LINK.findall(text):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue
            path = posixpath.normpath(posixpath.join(posixpath.dirname(page), unquote(target.split("#", 1)[0])))
            if path not in carried:
                dead.append(f"{page} -> {target}")
    assert not dead, "links to files the site does not carry: " + "; ".join(dead)


# --- the built site ---------------------------------------------------------------------------------------------

# Attributes that make the browser fetch something when the page loads (links in text, <a href>, are not).
RESOURCE_ATTRS = {("script", "src"), ("link", "href"), ("img", "src"), ("img", "srcset"), ("source", "src"),
                  ("source", "srcset"), ("iframe", "src"), ("embed", "src"), ("object", "data"),
                  ("video", "src"), ("video", "poster"), ("audio", "src"), ("image", "href"), ("use", "href")}
REMOTE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.I)
CSS_REMOTE = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])\s*(?:https?:)?//""", re.I)


class _Page(html.parser.HTMLParser):
    """The ids of a page and its (tag, attribute, value) references."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str, str]] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        if attrs.get("style"):
            self.styles.append(attrs["style"])
        for name, value in attrs.items():
            if value is not None and name in ("href", "src", "srcset", "poster", "data", "xlink:href"):
                self.refs.append((tag, "href" if name == "xlink:href" else name, value))


def _parse_site(site: Path) -> dict[Path, _Page]:
    pages = {}
    for path in sorted(site.rglob("*.html")):
        page = _Page()
        page.feed(path.read_text(encoding="utf-8"))
        pages[path] = page
    return pages


def _external_resources(site: Path, pages: dict[Path, _Page]) -> list[str]:
    found = []
    for path, page in pages.items():
        for tag, attr, value in page.refs:
            urls = [u.strip().split()[0] for u in value.split(",") if u.strip()] if attr == "srcset" else [value]
            if (tag, attr) in RESOURCE_ATTRS and any(REMOTE.match(u) for u in urls):
                found.append(f"{path.relative_to(site)}: <{tag} {attr}={value[:100]}>")
        found += [f"{path.relative_to(site)}: style {s[:100]}" for s in page.styles if CSS_REMOTE.search(s)]
        found += [f"{path.relative_to(site)}: <style> {m.group(0)}" for m in
                  CSS_REMOTE.finditer(path.read_text(encoding="utf-8"))]
    for css in sorted(site.rglob("*.css")):
        found += [f"{css.relative_to(site)}: {m.group(0)}" for m in CSS_REMOTE.finditer(css.read_text(encoding="utf-8"))]
    return found


def _dead_internal_links(site: Path, pages: dict[Path, _Page]) -> list[str]:
    dead = []
    for path, page in pages.items():
        for tag, attr, value in page.refs:
            if attr == "srcset" or re.match(r"^[a-z][a-z0-9+.-]*:|^//", value, re.I):
                continue  # http(s): and mailto: links in text, data: images; remote resources are checked above
            parts = urlsplit(value)
            if not parts.path:
                target = path
            elif parts.path.startswith("/"):
                target = site / unquote(parts.path).lstrip("/")
            else:
                target = (path.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file() or not target.resolve().is_relative_to(site.resolve()):
                dead.append(f"{path.relative_to(site)}: <{tag} {attr}={value}>")
            elif parts.fragment and target in pages and unquote(parts.fragment) not in pages[target].ids:
                dead.append(f"{path.relative_to(site)}: <{tag} {attr}={value}> (no such anchor)")
    return dead


def _build_site(site: Path) -> None:
    missing = [m for m in DOCS_MODULES if importlib.util.find_spec(m.split(".")[0]) is None
               or importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"the docs extra is not installed (no {', '.join(missing)}): pip install -e '.[docs]'")
    env = {**os.environ, "PHYSGEN_QUICK": "1", "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                           str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stderr[-6000:]}"
    warnings = [line for line in proc.stderr.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert not warnings, "\n".join(warnings)


def _serve(site: Path) -> http.server.ThreadingHTTPServer:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# Waits for every image (lazy ones made eager), then returns [src, naturalWidth, is a notebook output].
IMAGES_JS = """
const done = arguments[arguments.length - 1];
const images = Array.from(document.images);
images.forEach(img => { img.loading = "eager"; });
Promise.all(images.map(img => img.complete ? null : new Promise(r => { img.onload = img.onerror = r; })))
  .then(() => done(images.map(img => [img.currentSrc.slice(0, 80), img.naturalWidth,
                                       img.closest(".jp-OutputArea") !== null])));
"""


def _browser_check(site: Path, pages: list[str], notebook_pages: set[str], chromium: str, chromedriver: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-extensions", "--disable-background-networking", "--disable-component-update",
                "--window-size=1280,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    server = _serve(site)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    problems = []
    try:
        driver.set_page_load_timeout(120)
        driver.set_script_timeout(120)
        for page in pages:
            driver.get(base + page)
            images = driver.execute_async_script(IMAGES_JS)
            problems += [f"{page}: image {src!r} did not load" for src, width, _ in images if width == 0]
            if page in notebook_pages and not any(width > 0 for _, width, output in images if output):
                problems.append(f"{page}: no figure among the notebook's outputs")
            for entry in driver.get_log("performance"):
                message = json.loads(entry["message"])["message"]
                if message.get("method") == "Network.requestWillBeSent":
                    url = message["params"]["request"]["url"]
                    if not url.startswith((base, "data:", "blob:", "about:")):
                        problems.append(f"{page}: requested {url[:120]}")
            problems += [f"{page}: console {e['message'][:200]}" for e in driver.get_log("browser")
                         if e["level"] == "SEVERE"]
    finally:
        driver.quit()
        server.shutdown()
        server.server_close()
    return problems


@pytest.mark.slow
def test_site_builds_strictly_is_self_contained_and_renders(tmp_path, monkeypatch):
    site = tmp_path / "site"
    notebooks = {f"notebooks/{p.stem}.html" for p in ROOT.glob("notebooks/[0-9][0-9]_*.py")}  # before the build
    _build_site(site)
    pages = _parse_site(site)
    assert (site / "index.html").is_file() and (site / "docs" / "api.html").is_file()
    assert notebooks and all((site / n).is_file() for n in notebooks), sorted(notebooks)
    external = _external_resources(site, pages)
    assert not external, "resources loaded from outside the site:\n" + "\n".join(external[:50])
    dead = _dead_internal_links(site, pages)
    assert not dead, f"{len(dead)} dead internal links:\n" + "\n".join(dead[:50])

    chromium = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
    chromedriver = shutil.which("chromedriver")
    if not (chromium and chromedriver):
        pytest.skip("the build and its static checks passed; the browser check needs Chromium and its driver "
                    "(Debian: apt-get install chromium chromium-driver)")
    monkeypatch.setenv("SE_OFFLINE", "true")   # selenium must not try to download a browser or a driver
    html_pages = sorted(p.relative_to(site).as_posix() for p in pages)
    problems = _browser_check(site, html_pages, notebooks, chromium, chromedriver)
    assert not problems, f"{len(problems)} problems in the browser:\n" + "\n".join(problems[:50])
