"""Storage errors: a node refuses to start rather than run on state it cannot trust."""

from __future__ import annotations

__all__ = ["CorruptionError", "StorageError"]


class StorageError(Exception):
    """The data directory cannot be used (wrong node, missing file, misuse)."""


class CorruptionError(StorageError):
    """Damaged bytes that are not a torn tail; the message names the file and byte offset."""

    def __init__(self, path: str, offset: int, reason: str) -> None:
        self.path, self.offset, self.reason = path, offset, reason
        super().__init__(
            f"corrupt write-ahead log: {path} at byte {offset}: {reason}; refusing to start")
