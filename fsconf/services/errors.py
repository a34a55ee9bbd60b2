"""The one exception the operator services raise for bad input or an impossible state;
the CLI turns it into one line on stderr and exit status 2."""

from __future__ import annotations


class ServiceError(ValueError):
    """Bad operator input or an impossible state; the message is for the operator."""
