"""Persistence: typed models, the session factory, the call flow's repository and store,
reconciliation after a restart, the alembic helper."""
