"""ASGI entry point for `cityos serve` / uvicorn: `cityos.web.main:app`."""

from cityos.web.app import create_app

app = create_app()
