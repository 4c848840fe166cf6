"""Alembic environment: narratrace passes its engine in; no alembic.ini is needed."""

from alembic import context

from narratrace.store.models import Base
from narratrace.store.sqlite import is_fts_table


def include_name(name, type_, _parent_names):
    return not (type_ == "table" and is_fts_table(name))


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
