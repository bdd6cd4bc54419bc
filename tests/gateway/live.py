"""Serving a gateway app over real HTTP (uvicorn on a loopback port, in a thread) for tests
that need a browser-like client: OIDC redirects, cookies, Server-Sent Events."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from fastapi import FastAPI


@contextmanager
def serve(app: FastAPI, port: int) -> Iterator[str]:
    """Run `app` on 127.0.0.1:`port` until the block ends; yields the base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the gateway did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def log_in(browser: httpx.Client, base_url: str, provider: str, username: str) -> httpx.Response:
    """The whole browser dance: gateway -> provider login form -> provider -> gateway callback."""
    form_page = browser.get(f"{base_url}/login/{provider}")
    form_page.raise_for_status()
    action = re.search(r'<form method="post" action="([^"]+)"', form_page.text)
    assert action is not None, form_page.text
    fields = dict(
        re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form_page.text)
    )
    fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
    fields["username"] = username
    return browser.post(action[1], data=fields)


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None, "no CSRF token on the page"
    return match[1]
