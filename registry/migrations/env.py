"""Alembic environment: the engine comes from :func:`registry.db.upgrade`, never from a file."""

from alembic import context

from registry.tables import metadata

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    if connection.dialect.name == "postgresql":
        # Serialise concurrent first-use migrations across processes.
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(4242001)")
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
