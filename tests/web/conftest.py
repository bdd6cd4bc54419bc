"""Browser-test fixtures: the real app served over HTTP, and a real headless Chromium.

- `gateway` (module scope): an embedded gateway (migrated SQLite in a temporary data dir, tasks
  on the real worker Celery app in-process, so submissions are planned, run by the local engine
  and monitored) served by uvicorn on a loopback port. Users: `alice` (admin) and `bob`.
- `browser`: Debian's chromium driven by selenium through /usr/bin/chromedriver, with a fresh
  profile; each test starts logged out. `browser.login("alice")` follows a one-time login link.

Chromium and chromedriver come from apt (`chromium chromium-driver`, installed by `.ci/run`).
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from selenium import webdriver
from selenium.common.exceptions import (
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.expected_conditions import alert_is_present
from selenium.webdriver.support.ui import WebDriverWait

from gateway.db import migrate
from gateway.main import create_app
from gateway.services import users as user_service
from gateway.settings import Settings
from tests.gateway.live import serve

CHROMIUM = Path(os.environ.get("AERIE_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("AERIE_TEST_CHROMEDRIVER", "/usr/bin/chromedriver"))
REPO = Path(__file__).resolve().parents[2]
CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)


def shared_dir() -> Path:
    configured = os.environ.get("AERIE_SHARED_DIR")
    return Path(configured) if configured else (REPO / ".." / "shared").resolve()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveGateway:
    app: FastAPI
    base_url: str
    settings: Settings
    tmp: Path
    user_ids: dict[str, int] = field(default_factory=dict)

    def add_user(self, name: str, *, is_admin: bool = False) -> None:
        with self.app.state.db.session_scope() as session:
            user = user_service.create_user(session, name=name, is_admin=is_admin)
            self.user_ids[name] = user.id

    def login_link(self, name: str) -> str:
        token = self.app.state.login_links.issue(self.user_ids[name])
        return f"{self.base_url}/login?token={token}"

    def import_pegasus_run(self, fixture: str, owner: str) -> str:
        """`aerie import` of one of Pegasus's own submit directories (a private copy)."""
        from worker.pegasus_import.importer import import_submit_dir

        source = shared_dir() / "pegasus" / "fixtures" / "submit-dirs" / fixture
        copy = self.tmp / "imports" / fixture
        if not copy.exists():
            shutil.copytree(source, copy, ignore=shutil.ignore_patterns("*.stampede.db"))
        with self.app.state.db.session_scope() as session:
            return import_submit_dir(session, copy, owner).run_id


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, make_settings: Callable[..., Settings]
) -> Iterator[LiveGateway]:
    from worker.celery_app import create_celery_app

    tmp = tmp_path_factory.mktemp("web")
    port = free_port()
    settings = make_settings(tmp / "data", base_url=f"http://127.0.0.1:{port}")
    migrate.upgrade(settings.database_url)
    app = create_app(settings, celery_app=create_celery_app(settings))
    with serve(app, port) as base_url:
        live = LiveGateway(app, base_url, settings, tmp)
        live.add_user("alice", is_admin=True)
        live.add_user("bob")
        yield live


class Browser:
    """A thin layer over selenium that speaks in pages: open, log in, find, wait."""

    def __init__(self, driver: WebDriver, gateway: LiveGateway) -> None:
        self.driver = driver
        self.gateway = gateway

    def open(self, path: str) -> None:
        self.driver.get(self.gateway.base_url + path)

    def login(self, name: str) -> None:
        self.driver.get(self.gateway.login_link(name))

    def logout(self) -> None:
        self.open("/healthz")
        self.driver.delete_all_cookies()

    @property
    def path(self) -> str:
        return str(self.driver.current_url).removeprefix(self.gateway.base_url)

    @property
    def text(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[WebElement]:
        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def click(self, target: str | WebElement, timeout: float = 60.0) -> None:
        """Click something that loads a new page, and wait until that page has loaded
        (selenium's own click returns as soon as the old page starts to unload)."""
        old = self.driver.find_element(By.TAG_NAME, "html")
        if isinstance(target, str):
            # live pages swap their fragments: find again if the element was just replaced
            for attempt in range(5):
                try:
                    self.find(target).click()
                    break
                except (StaleElementReferenceException, WebDriverException) as exc:
                    if attempt == 4 or not _replaced(exc):
                        raise
                    time.sleep(0.2)
        else:
            target.click()
        if _has_alert(self.driver):
            self.driver.switch_to.alert.accept()
        WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(lambda _: _gone(old))
        WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(
            lambda d: d.execute_script("return document.readyState") == "complete"
        )

    def wait_for(self, css: str, timeout: float = 60.0) -> WebElement:
        """The first element matching `css` once it exists (the page may update itself)."""
        try:
            WebDriverWait(self.driver, timeout, poll_frequency=0.2).until(
                lambda d: d.find_elements(By.CSS_SELECTOR, css)
            )
        except TimeoutException as exc:
            raise AssertionError(
                f"no {css!r} after {timeout} s on {self.path}:\n{self.text}"
            ) from exc
        return self.find(css)

    def fetch(self, path: str, method: str = "GET", **init: Any) -> dict[str, Any]:
        """`fetch()` from inside the page (same cookies): {status, text}."""
        script = """
            const [url, init, done] = arguments;
            fetch(url, init).then(async r => done({status: r.status, text: await r.text()}))
                            .catch(e => done({status: -1, text: String(e)}));
        """
        result: dict[str, Any] = self.driver.execute_async_script(
            script, self.gateway.base_url + path, {"method": method, **init}
        )
        return result


def _replaced(exc: WebDriverException) -> bool:
    """The element was swapped out of the page between finding and using it."""
    return isinstance(exc, StaleElementReferenceException) or "does not belong to the document" in (
        exc.msg or ""
    )


def _gone(element: WebElement) -> bool:
    """The old page's element has left the document. selenium's `staleness_of` only knows
    StaleElementReferenceException; chromium may instead answer "Node with given id does not
    belong to the document" while the old document is being torn down."""
    try:
        element.is_enabled()
    except WebDriverException as exc:
        if _replaced(exc):
            return True
        raise
    return False


def _has_alert(driver: WebDriver) -> bool:
    """A confirm() dialog is open (the delete button asks first)."""
    return bool(alert_is_present()(driver))


@pytest.fixture(scope="module")
def chrome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        message = (
            f"browser tests need {CHROMIUM} and {CHROMEDRIVER}: "
            "apt-get install chromium chromium-driver"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_script_timeout(30)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(chrome: WebDriver, gateway: LiveGateway) -> Browser:
    page = Browser(chrome, gateway)
    page.logout()
    return page


def wait_until(check: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
