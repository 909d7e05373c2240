"""The state package's errors: one base, a shallow hierarchy, retryability explicit."""

from __future__ import annotations


class StateError(Exception):
    """Base of every error the state store raises."""

    retryable = False


class StateUnavailable(StateError):
    """The database cannot be reached or dropped the connection; retry later.

    Raised instead of the driver's error so callers (the notification pipeline, the API)
    can count and retry without knowing SQLAlchemy or the database in use.
    """

    retryable = True


class SchemaError(StateError):
    """The database's schema cannot be used by this code (e.g. newer than it knows)."""


class StateURLError(StateError):
    """The state URL (``state.url``) is not one the store can open."""


class NotFound(StateError):
    """The object named by an id does not exist (for the API: a 404)."""


class InvalidSilence(StateError):
    """A silence that cannot be stored as given (for the API: a 400)."""
