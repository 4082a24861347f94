"""Alembic environment. The connection comes from `hub.migrate`; run `modelhub db upgrade`."""

from alembic import context

import community.tables  # noqa: F401  (its tables share the registry's metadata)
from models_registry.tables import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs the alembic CLI by hand
    raise SystemExit("Run migrations with `modelhub db upgrade`, which provides the connection.")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
