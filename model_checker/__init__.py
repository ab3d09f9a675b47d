"""A generic explicit-state model checker. It knows no protocol: specs reach it through
the :class:`quorum.model_checker.model.Model` protocol.

Start with ``model.py`` (the contract), then ``bfs.py`` (the search)."""

from quorum.model_checker.explicit.bfs import check
from quorum.model_checker.model import Label, Model, format_label
from quorum.model_checker.result import Result, Step, Violation

__all__ = ["Label", "Model", "Result", "Step", "Violation", "check", "format_label"]
