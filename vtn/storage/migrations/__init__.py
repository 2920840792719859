"""Alembic migrations of the VTN schema; run with `vtn db upgrade --db URL`."""
