"""`/dashboard`: a self-contained page (inline CSS, JS and SVG charts) over the projects API.

The page holds no data; it calls the API from the browser, asking for the API key when the
server requires one. It loads nothing from elsewhere, so it works without internet.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["dashboard"])

# the page may only talk to this server
CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'"
)


@lru_cache(maxsize=1)
def _page() -> str:
    return files("core.dora").joinpath("static/dashboard.html").read_text(encoding="utf-8")


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
def dashboard() -> HTMLResponse:
    return HTMLResponse(_page(), headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"})
