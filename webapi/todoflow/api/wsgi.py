"""The WSGI entry point gunicorn loads: `todoflow.api.wsgi:app`."""

from todoflow.api import create_app

app = create_app()
