"""`d2k workshop up` serves JupyterLab and the docs on localhost; `down` stops both."""

import os
import re
import urllib.request


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


def test_up_serves_jupyterlab_and_docs_then_down_stops_them(d2k, free_port, tmp_path):
    env = dict(os.environ, D2K_STATE_DIR=str(tmp_path / "state"))
    lab_port, docs_port = free_port(), free_port()
    up = d2k("workshop", "up", "--lab-port", str(lab_port), "--docs-port", str(docs_port), env=env)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        lab_url = re.search(r"http://localhost:\d+/lab/tree/labs\?token=\w+", up.stdout)
        assert lab_url, up.stdout
        status, body = _get(lab_url.group(0))
        assert status == 200 and "JupyterLab" in body
        status, body = _get(f"http://localhost:{docs_port}/cheatsheet/")
        assert status == 200 and "kubectl" in body
        assert "make down" in up.stdout  # says how to stop
    finally:
        down = d2k("workshop", "down", env=env)
    assert down.returncode == 0 and "jupyterlab" in down.stdout and "docs" in down.stdout
    again = d2k("workshop", "down", env=env)
    assert "nothing was running" in again.stdout
