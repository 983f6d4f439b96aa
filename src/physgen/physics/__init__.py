"""Physics references: Onsager's exact 2D Ising results (:mod:`~physgen.physics.onsager`), exact enumeration
of small lattices (:mod:`~physgen.physics.exact`) and observables with errors
(:mod:`~physgen.physics.observables`).  Import the submodules directly."""
