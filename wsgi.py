"""WSGI entry point: `gunicorn wsgi:app` (configuration from MODELHUB_* environment variables)."""

from hub import create_app

app = create_app()
