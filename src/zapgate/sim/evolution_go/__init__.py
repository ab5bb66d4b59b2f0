"""Loopback simulator of Evolution GO; the routes are listed in ``app``."""

from zapgate.sim.evolution_go.app import EXTRA_DEFAULTS, EvolutionGoSim, create_app

__all__ = ["EXTRA_DEFAULTS", "EvolutionGoSim", "create_app"]
