"""The adapter tests share the loopback fixtures of ``tests.loopback``; the end-to-end tests
build whole worlds with ``make_world`` (``tests.contract.worlds``)."""

from tests.contract.worlds import make_world
from tests.loopback import receiver, sim

__all__ = ["make_world", "receiver", "sim"]
