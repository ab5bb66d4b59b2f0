"""Loopback simulator of the Meta WhatsApp Cloud API; the routes are listed in ``app``."""

from zapgate.sim.meta.app import DEFAULT_NUMBER, META_DEFAULTS, SimNumber, create_app

__all__ = ["DEFAULT_NUMBER", "META_DEFAULTS", "SimNumber", "create_app"]
