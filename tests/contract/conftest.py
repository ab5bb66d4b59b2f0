"""The contract tests build their worlds with ``make_world`` (``tests.contract.worlds``)."""

from tests.contract.worlds import make_world

__all__ = ["make_world"]
