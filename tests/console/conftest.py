"""The browser every console test module drives: Debian's Chromium through Playwright (no
browser download), one per module."""

import pytest
from playwright.sync_api import sync_playwright

from console_support import ARTIFACTS, CHROMIUM


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()
