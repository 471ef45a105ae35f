"""JupyterLab in a real browser: the ablation explorer renders and reacts (headless Chromium).

Runs 06_ablations.ipynb, with ``INTERACTIVE = True``, against the smoke run, in a JupyterLab served
on loopback, driven by Playwright through Debian's Chromium. Skipped where Chromium or Playwright is
missing (``make test`` installs both when it runs as root).
"""

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from msrl import paths

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
TOKEN = "msrl-browser-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _interactive_copy(run_dir, folder):
    """06_ablations.ipynb with its parameters pointing at the smoke run and widgets on."""
    notebook = json.loads((paths.NOTEBOOK_DIR / "06_ablations.ipynb").read_text())
    cell = next(c for c in notebook["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    cell["source"] = f'SCALE = "smoke"\nSEED = 0\nINTERACTIVE = True\nRUN_DIR = {str(run_dir)!r}\nOVERRIDES = {{}}\n'
    (folder / "06_ablations.ipynb").write_text(json.dumps(notebook))


@pytest.fixture
def lab(smoke_run, tmp_path):
    run_dir = tmp_path / "run"  # a copy: the notebook rewrites its stage's metrics and figures
    shutil.copytree(smoke_run[0], run_dir)
    folder = tmp_path / "lab"
    folder.mkdir()
    _interactive_copy(run_dir, folder)
    port = _free_port()
    env = {
        **__import__("os").environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--ServerApp.token={TOKEN}",
            f"--ServerApp.root_dir={folder}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "lab.log", "w"),
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail(f"JupyterLab did not start: {(tmp_path / 'lab.log').read_text()[-2000:]}")
    yield url, tmp_path
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


def test_the_ablation_explorer_renders_and_reacts_in_jupyterlab(lab):
    url, tmp_path = lab
    errors = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{url}/lab/tree/06_ablations.ipynb?token={TOKEN}")
            page.wait_for_function(
                "window.jupyterapp && window.jupyterapp.shell.currentWidget "
                "&& window.jupyterapp.shell.currentWidget.sessionContext "
                "&& window.jupyterapp.shell.currentWidget.sessionContext.session",
                timeout=120_000,
            )
            page.evaluate(
                "window.jupyterapp.shell.currentWidget.sessionContext.ready.then(() => "
                "window.jupyterapp.commands.execute('notebook:run-all-cells'))"
            )
            dropdown = page.locator(".widget-dropdown select").first
            dropdown.wait_for(timeout=240_000)
            summary = page.locator(".widget-html-content", has_text="mean").first
            summary.wait_for(timeout=60_000)
            first = summary.inner_text()
            assert page.get_by_text("Loading widget").count() == 0
            assert page.locator(".widget-image img, img.widget-image").count() >= 1
            options = dropdown.locator("option").all_inner_texts()
            assert len(options) >= 2, options
            dropdown.select_option(label=options[1])  # the explorer must follow its control
            page.wait_for_function(
                "([text]) => [...document.querySelectorAll('.widget-html-content')]"
                ".some(e => e.innerText.includes(text))",
                arg=[options[1]],
                timeout=60_000,
            )
            assert options[1] in summary.inner_text() and summary.inner_text() != first
            page.screenshot(path=str(tmp_path / "explorer.png"), full_page=True)
        finally:
            browser.close()
    assert (tmp_path / "explorer.png").stat().st_size > 10_000
    assert not errors, errors
