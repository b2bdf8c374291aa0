"""The few storage errors the application handles; driver errors never leak past here."""

from __future__ import annotations


class StorageError(Exception):
    """Base class for persistence failures."""


class StorageUnavailable(StorageError):
    """The database could not be reached or refused the work; retrying later may succeed."""


class NotFound(StorageError):
    """The requested row does not exist."""


class Conflict(StorageError):
    """A uniqueness or concurrency constraint refused the write."""


class SchemaOutOfDate(StorageError):
    """The database schema is not at the revision this code expects."""
