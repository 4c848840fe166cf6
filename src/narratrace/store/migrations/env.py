"""Alembic environment: narratrace passes its engine in; no alembic.ini is needed."""

from alembic import context

from narratrace.store.db import is_backend_object
from narratrace.store.models import Base


def include_name(name, type_, _parent_names):
    return not is_backend_object(name, type_)


config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=include_name,
    )
    context.run_migrations()
