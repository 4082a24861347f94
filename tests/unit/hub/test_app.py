"""The app factory: configuration, the wired registry, error translation, authentication."""

from __future__ import annotations

import os
import stat

import pytest

from hub import create_app
from hub.wiring import services_of


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """Nothing from the caller's MODELHUB_* environment leaks into these apps."""
    for name in list(os.environ):
        if name.startswith("MODELHUB_"):
            monkeypatch.delenv(name)


@pytest.fixture
def make_app(tmp_path):
    apps = []

    def make(data_dir=None, **overrides):
        app = create_app({"DATA_DIR": str(data_dir or tmp_path / "data"), "TESTING": True, **overrides})
        apps.append(app)
        return app

    yield make
    for app in apps:
        services_of(app).registry.close()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


def test_factory_uses_the_data_dir(app, tmp_path):
    data = (tmp_path / "data").resolve()
    assert app.config["DATA_DIR"] == str(data)
    registry = services_of(app).registry
    assert registry.settings.data_dir == data
    assert registry.settings.database_url == f"sqlite:///{data / 'modelhub.db'}"
    assert (data / "modelhub.db").is_file()
    assert (data / "repos").is_dir()


def test_overrides_reach_the_registry_settings(make_app):
    app = make_app(LFS_THRESHOLD=1234, REGULAR_UPLOAD_MAX=5678)
    settings = services_of(app).registry.settings
    assert (settings.lfs_threshold, settings.regular_upload_max) == (1234, 5678)


def test_environment_configures_the_app(make_app, monkeypatch):
    monkeypatch.setenv("MODELHUB_LFS_THRESHOLD", "4321")
    assert services_of(make_app()).registry.settings.lfs_threshold == 4321


def test_health(client):
    r = client.get("/api/health")
    assert r.status_code == 200
    assert r.is_json
    assert r.get_json() == {"status": "ok", "database": "sqlite"}


@pytest.mark.parametrize("path", ["/api/no-such-endpoint", "/api/no/such/endpoint/at/all"])
def test_unknown_api_path_is_a_json_error(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert r.is_json
    body = r.get_json()
    assert isinstance(body["error"], str) and body["error"]
    assert r.headers["X-Error-Message"] == body["error"]


def test_migrations_ran(client, app):
    # a query that touches the schema: listing models on a fresh hub
    r = client.get("/api/models")
    assert r.status_code == 200
    assert r.get_json() == []


@pytest.mark.parametrize("header", ["Bearer mh_not-a-real-token", "Bearer ", "Token abc", "Basic !!notbase64"])
@pytest.mark.parametrize("path", ["/api/whoami-v2", "/api/models"])
def test_bad_credentials_are_refused_even_on_public_endpoints(client, header, path):
    r = client.get(path, headers={"Authorization": header})
    assert r.status_code == 401
    assert r.is_json
    assert r.headers["X-Error-Message"] == r.get_json()["error"]


def test_health_ignores_credentials(client):
    r = client.get("/api/health", headers={"Authorization": "Bearer mh_not-a-real-token"})
    assert r.status_code == 200


def test_valid_token_signs_in(app, client):
    accounts = services_of(app).registry.accounts
    accounts.create_user("alice", "password-123")
    token = accounts.create_token("alice", role="read")
    r = client.get("/api/whoami-v2", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    body = r.get_json()
    assert body["name"] == "alice"
    assert body["auth"]["accessToken"]["role"] == "read"
    assert client.get("/api/whoami-v2").status_code == 401


def test_secret_key_is_generated_once_and_kept(make_app, tmp_path):
    first = make_app()
    second = make_app()
    key = first.config["SECRET_KEY"]
    assert isinstance(key, str) and len(key) >= 32
    assert second.config["SECRET_KEY"] == key
    path = tmp_path / "data" / "secret_key"
    assert path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    other = make_app(tmp_path / "other")
    assert other.config["SECRET_KEY"] != key


def test_configured_secret_key_wins(make_app, tmp_path):
    app = make_app(SECRET_KEY="configured-key")
    assert app.config["SECRET_KEY"] == "configured-key"
    assert not (tmp_path / "data" / "secret_key").exists()
