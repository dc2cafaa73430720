"""Persistence: SQLAlchemy 2 models, one module per aggregate, and Alembic migrations."""
