"""Fixtures for the real-browser tests: Debian's chromium driven by Playwright."""

import pytest
from playwright.sync_api import sync_playwright

# Never a downloaded browser: the system chromium, without background chatter.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture
def browser():
    """Yield a headless chromium, closed after the test."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
