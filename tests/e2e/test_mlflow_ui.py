"""The MLflow UI in a real headless Chromium: the experiment page lists the run tree down to the trials.

`make test` installs Debian's chromium and chromium-driver where it can (`make browser`);
without them this test is skipped with that reason.
"""

import os
import shutil
import time

import pandas as pd
import pytest

from support.mlflowserver import call

pytestmark = pytest.mark.e2e

CHROMEDRIVER = shutil.which("chromedriver")
SCREENSHOT = os.environ.get("LAYERWISE_UI_SCREENSHOT")  # where to keep the page as PNG (docs/mlflow-ui.png)


@pytest.fixture(scope="module")
def browser():
    if CHROMEDRIVER is None:
        pytest.skip("no chromedriver on PATH: `make browser` installs Debian's chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1500,2400")  # tall enough that the table renders every row
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def wait_for(condition, timeout: float = 60.0, what: str = "the page"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def run_names(driver) -> list[str]:
    """The run names the runs table shows, in their order."""
    from selenium.webdriver.common.by import By

    return [link.text for link in driver.find_elements(By.CSS_SELECTOR, "a[href*='/runs/']") if link.text]


def expand(driver, name: str) -> None:
    """Clicks the expander beside every shown run called `name` (a parent run's nested runs appear)."""
    from selenium.webdriver.common.by import By

    path = f"//a[contains(@href, '/runs/')][normalize-space(.)='{name}']/ancestor::div[2]//button"
    for button in driver.find_elements(By.XPATH, path):
        button.click()


def test_the_experiment_page_lists_pipeline_stage_and_trial_runs(smoke_run, server, browser):
    experiment = call(server, "experiments/get-by-name", experiment_name=smoke_run.config["experiment"])["experiment"]
    assert {"key": "mlflow.experimentKind", "value": "custom_model_development"} in experiment["tags"]
    browser.get(f"{server}/#/experiments/{experiment['experiment_id']}/runs")
    wait_for(lambda: "pipeline" in run_names(browser), what="the pipeline run in the runs table")
    stages = ["preprocess", "layer1", "layer2", "finetune", "evaluation"]
    expand(browser, "pipeline")
    wait_for(lambda: set(stages) <= set(run_names(browser)), what="the stage runs under the pipeline run")
    for stage in ("layer1", "finetune"):
        expand(browser, stage)
    table = pd.read_csv(smoke_run.results / "trials.csv")
    expected = set(table.trial_id[table.stage.isin(["layer1", "finetune"])])
    shown = wait_for(lambda: expected & set(run_names(browser)) == expected and run_names(browser), what="trial runs")
    assert shown.index("layer1") < min(shown.index(trial) for trial in expected if trial.startswith("layer1"))
    assert not {name for name in shown if name.startswith("layer2-")}  # layer2 stays folded
    if SCREENSHOT:
        from selenium.webdriver.common.by import By

        for close in browser.find_elements(By.CSS_SELECTOR, "button[aria-label='Close']"):  # the assistant pane
            close.click()
        browser.set_window_size(1500, 760)
        browser.save_screenshot(SCREENSHOT)
