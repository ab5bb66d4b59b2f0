"""Meta WhatsApp Cloud API provider (official numbers); see README.md in this package."""

from zapgate.providers.meta.adapter import GRAPH_API_VERSION, MetaProvider

__all__ = ["GRAPH_API_VERSION", "MetaProvider"]
