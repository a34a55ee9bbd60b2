"""Operator services: customers, numbers, conferences, invoicing, usage and the audit trail.

Each takes the caller's SQLAlchemy session and raises `errors.ServiceError` for bad input;
the pure rules they apply live in `fsconf.domain`."""
