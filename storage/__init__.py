"""Persistence for incident-bot: models, engine, repositories and migrations.

Only this package imports SQLAlchemy; the application talks to it through
:class:`storage.database.Database` and the repository functions.
"""
