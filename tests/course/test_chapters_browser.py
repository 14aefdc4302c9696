"""Part 1's chapters in a real browser: tabs switch, diagrams render, the real YAML is shown,
and a chapter's lab link opens the rendered notebook."""

from __future__ import annotations

from pathlib import Path

import pytest

from docker2k8s.paths import REPO_ROOT

pytestmark = pytest.mark.browser

DIAGRAMS_DRAWN = (
    "() => [...document.querySelectorAll('.mermaid')]"
    ".every(d => d.getBoundingClientRect().height > 80)"
)


def test_pods_chapter_tabs_diagram_and_included_manifest(
    page, site_url: str, artifacts: Path
) -> None:
    page.goto(site_url + "/chapters/03-pods/")
    page.wait_for_function(DIAGRAMS_DRAWN, timeout=20_000)

    kubernetes_tab = page.locator(".tabbed-labels label", has_text="Kubernetes").first
    kubernetes_tab.click()
    manifest = (REPO_ROOT / "apps/k8s/inference-pod.yaml").read_text()
    first_line = manifest.splitlines()[0]
    shown = page.locator(".tabbed-block pre", has_text=first_line).first
    shown.wait_for(state="visible", timeout=5_000)
    text = shown.inner_text()
    assert "nvidia.com/gpu: 1" in text and "medium: Memory" in text, text[:400]
    # content.tabs.link: choosing Kubernetes once switches every tab set on the page.
    docker_blocks = page.locator(
        ".tabbed-block pre", has_text="docker run -d --name inference -p 8080:80"
    )
    assert docker_blocks.count() == 1 and not docker_blocks.first.is_visible()
    page.screenshot(path=str(artifacts / "docs-chapter-03-pods.png"), full_page=True)


def test_setup_chapter_links_to_its_rendered_lab(page, site_url: str, artifacts: Path) -> None:
    page.goto(site_url + "/chapters/00-setup/")
    page.wait_for_function(DIAGRAMS_DRAWN, timeout=20_000)
    page.locator("article a", has_text="labs/00-setup.ipynb").first.click()
    page.wait_for_load_state()
    assert page.url.rstrip("/").endswith("/labs/00-setup"), page.url
    text = page.locator("article").inner_text()
    assert "Lab 00" in text and "check(" in text
    page.screenshot(path=str(artifacts / "docs-chapter-00-lab.png"))
