"""Alembic environment: narratrace passes its engine in; no alembic.ini is needed."""

from alembic import context

from narratrace.store.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
