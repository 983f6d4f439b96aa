"""Datasets: the HDF5 contract (:mod:`physgen.data.io`), the Ising engine, importers and toys."""
from physgen.data.io import KINDS, Dataset, describe, load, save

__all__ = ["KINDS", "Dataset", "describe", "load", "save"]
