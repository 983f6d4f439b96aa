"""High-energy-physics events: Pythia 8 generation, per-event features, LHE and ROOT files.

Modules: :mod:`~physgen.data.hep.pythia` (settings, one seeded Pythia shard, attributes),
:mod:`~physgen.data.hep.shards` (seeds and worker processes), :mod:`~physgen.data.hep.features`
(hard-level 2 → 2 features and their conventions), :mod:`~physgen.data.hep.hadron` (anti-k_T jets and
isolated leptons), :mod:`~physgen.data.hep.lhe` (Les Houches Event files), :mod:`~physgen.data.hep.root`
(ROOT trees), :mod:`~physgen.data.hep.events` (tt̄ events rebuilt from s, t, y).

They need the optional ``hep`` dependencies (``pip install 'physgen[hep]'``); importing this package
does not import them.
"""
