"""physgen: generative and unsupervised learning on physical-science data.

The public entry points are the ``physgen`` command line (``physgen.cli``) and the
dataset API :func:`physgen.data.load` / :func:`physgen.data.save`.
"""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("physgen")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
