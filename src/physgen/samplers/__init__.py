"""Samplers: the loops that draw from models (ancestral, ODE, Langevin, Gibbs, Metropolis–Hastings against a
Boltzmann weight).  Kept free of heavy imports: the command line reads :data:`DEFAULT_CHAINS` at start-up."""

DEFAULT_CHAINS = 16      # parallel Markov chains of a learned-proposal Metropolis–Hastings run (``sample --mcmc``)
