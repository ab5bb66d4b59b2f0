"""The simulator tests share the loopback fixtures of ``tests.loopback``."""

from tests.loopback import receiver, sim

__all__ = ["receiver", "sim"]
