"""The Temporal Web UI, in a real (headless) Chromium: an operator finds a running loan and reads,
in words, where it is — decoded through the codec server, since every payload is encrypted.

Needs Debian's ``chromium`` and ``chromium-driver`` (.ci/run installs both); without them the test
is skipped with that instruction on a developer's machine, and fails under CI (``CI`` set).
"""

from __future__ import annotations

import os
import random
import shutil
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from devtools.devstack.samples import SAMPLES, sample_cpf, sample_request
from devtools.devstack.stack import LocalStack
from domain.calendar import SAO_PAULO
from starter.api import LoanService
from workflows.loan.state import Stage

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    if not (CHROMIUM and CHROMEDRIVER):
        missing = "Web UI test needs Chromium: apt-get install chromium chromium-driver (.ci/run does this)"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,2400",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ):
        options.add_argument(flag)
    # An explicit driver path: Selenium never tries to download one.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _wait_for(check: Any, seconds: float = 45.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise TimeoutError("the Web UI did not show it in time")


def _frames_text(driver: Any) -> list[str]:
    from selenium.webdriver.common.by import By

    texts = []
    for frame in driver.find_elements(By.TAG_NAME, "iframe"):
        driver.switch_to.frame(frame)
        texts.append(driver.find_element(By.TAG_NAME, "body").text)
        driver.switch_to.default_content()
    return texts


async def test_an_operator_finds_a_running_loan_and_its_stage(
    stack: LocalStack, temporal_client: Client, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    service = LoanService(temporal_client, stack.config.task_queue)
    request = sample_request(SAMPLES[0], cpf=sample_cpf(1, random.Random()), stamp="webui", documents_dir=tmp_path)
    await service.start(request)
    await service.wait_until(request.request_key, lambda s: s.stage == Stage.AWAITING_SIGNATURE, seconds=60)
    workflow_id = f"loan-{request.request_key}"
    ui = stack.config.ui_url

    browser.get(f"{ui}/namespaces/default/workflows")
    _wait_for(lambda: workflow_id in browser.find_element(By.TAG_NAME, "body").text)

    run_id = (await service.handle(request.request_key).describe()).run_id
    browser.get(f"{ui}/namespaces/default/workflows/{workflow_id}/{run_id}/history")
    tab = _wait_for(lambda: browser.find_elements(By.XPATH, "//*[normalize-space(text())='User Metadata']"))
    tab[0].click()

    def details() -> list[str] | None:
        texts = _frames_text(browser)
        return texts if any("awaiting_signature" in t for t in texts) else None

    texts = _wait_for(details)
    summary, current = texts[0], texts[-1]
    # The same pt-BR texts the CLI prints (tests/starter/test_cli.py), written out by hand here.
    assert summary.startswith("INSS new credit · 84 x R$ 250,00 at 1,66 % a.m. · benefit ••••")
    assert "awaiting_signature: waiting for the borrower" in current
    window_end = (await service.state(request.request_key)).disbursement_window_end
    assert window_end is not None
    last_day = window_end.astimezone(SAO_PAULO).date() - timedelta(days=1)  # the window ends at midnight after it
    assert f"último dia para desembolso {last_day.day:02d}/{last_day.month:02d}/{last_day.year}" in current
    assert "**" not in current  # rendered as markdown, not shown as it
    assert request.borrower.cpf not in " ".join(texts)  # the words an operator reads carry no CPF
