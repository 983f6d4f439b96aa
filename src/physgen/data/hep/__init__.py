"""High-energy-physics events: Pythia 8 generation, per-event features, LHE files.

Needs the optional ``hep`` dependencies (``pip install 'physgen[hep]'``); importing this package
does not import them.
"""
