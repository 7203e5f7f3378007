"""Alembic revision files, one per schema change, oldest first (``rNNNN_slug.py``)."""
