"""The REST API (FastAPI): thin routers over core services."""
