"""Shared fixtures of the registry's unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub import migrate
from models_registry.registry import Registry
from models_registry.settings import RegistrySettings
from tests.support.databases import database_url


@pytest.fixture
def registry(tmp_path) -> Iterator[Registry]:
    """A registry with default settings on its own SQLite database and data folder, migrated (modules
    that need other settings define their own)."""
    reg = Registry(RegistrySettings.for_data_dir(tmp_path / "data"))
    migrate.upgrade(reg.db)
    yield reg
    reg.close()


@pytest.fixture
def new_writer(registry):  # type: ignore[no-untyped-def]
    """Make a user of `registry`, signed in with a write token: `new_writer("name")`."""
    def make(name: str):  # type: ignore[no-untyped-def]
        registry.accounts.create_user(name, f"pw-{name}-12345")
        return registry.accounts.authenticate_token(registry.accounts.create_token(name, role="write"))
    return make


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_on_each_database(request, tmp_path) -> Iterator[Registry]:
    """A migrated registry on SQLite, and on PostgreSQL when MODELHUB_TEST_DATABASE_URL is set."""
    reg = Registry(RegistrySettings.for_data_dir(tmp_path / "data", database_url=database_url(request.param)))
    migrate.upgrade(reg.db)
    yield reg
    reg.close()
