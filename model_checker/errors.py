"""Errors of the checker's callers (misuse), reported in one line by the CLI."""

from __future__ import annotations

__all__ = ["CheckError", "UnknownProperty"]


class CheckError(ValueError):
    """The checker was asked something it cannot do (the caller's fault)."""


class UnknownProperty(CheckError):
    """A property name that the model does not define."""
