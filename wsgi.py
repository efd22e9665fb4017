"""WSGI entry point: ``gunicorn wsgi:app``."""

from revtain import create_app

app = create_app()
