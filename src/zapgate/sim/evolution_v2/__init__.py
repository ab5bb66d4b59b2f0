"""Loopback simulator of Evolution API v2; the routes are listed in ``app``."""

from zapgate.sim.evolution_v2.app import EXTRA_DEFAULTS, EvolutionSim, create_app, is_base64, jid_for

__all__ = ["EXTRA_DEFAULTS", "EvolutionSim", "create_app", "is_base64", "jid_for"]
