"""The docs site builds strictly and works in a real browser (Debian's chromium via Playwright)."""

from pathlib import Path

import pytest

from docker2k8s.labs import LABS_DIR, english_name, is_translation


def test_strict_build_has_every_page(built_site: Path):
    for page in ("index.html", "how-to-use/index.html", "cheatsheet/index.html"):
        assert (built_site / page).exists(), page
    for lab in LABS_DIR.glob("*.ipynb"):
        if is_translation(lab):  # labs/00-setup.zh.ipynb is zh/labs/00-setup/ on the site
            language = lab.suffixes[-2].lstrip(".")
            page = built_site / language / "labs" / english_name(lab).removesuffix(".ipynb")
        else:
            page = built_site / "labs" / lab.stem
        assert (page / "index.html").exists(), f"{lab.name} not rendered"


def test_mermaid_is_served_by_the_site_itself(built_site: Path):
    """Air-gapped readers get diagrams: mermaid is part of the site, not fetched from a CDN."""
    assert (built_site / "assets/vendor/mermaid.min.js").stat().st_size > 1_000_000
    assert "assets/vendor/mermaid.min.js" in (built_site / "index.html").read_text()


@pytest.mark.browser
def test_home_navigation_search_and_cheat_sheet(page, site_url: str, artifacts: Path):
    page.goto(site_url + "/")
    assert "docker2k8s" in page.title()
    tabs = page.locator(".md-tabs__link")
    assert {"Home", "Cheat sheet", "Labs"} <= set(tabs.all_inner_texts())
    # Diagrams render offline. Material draws them in a closed shadow root, so measure the box.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.mermaid')]"
        ".every(d => d.getBoundingClientRect().height > 100)",
        timeout=15_000,
    )
    page.screenshot(path=str(artifacts / "docs-home.png"), full_page=True)

    page.locator(".md-search__input").click()
    page.keyboard.type("rollout undo")  # typed, as search listens to key events
    results = page.locator(".md-search-result__item")
    results.first.wait_for(timeout=15_000)
    assert "cheat sheet" in " ".join(results.all_inner_texts()).lower()

    page.goto(site_url + "/cheatsheet/")
    body = page.locator("article").text_content() or ""  # includes the hidden tabs
    for command in ("kubectl create deployment", "kubectl rollout undo", "nvidia.com/gpu"):
        assert command in body, f"cheat sheet lacks {command}"
    assert page.locator("article table").count() >= 5
    page.locator(".tabbed-labels label").first.wait_for()
    page.screenshot(path=str(artifacts / "docs-cheatsheet.png"), full_page=True)


@pytest.mark.browser
def test_a_lab_renders_with_its_checks(page, site_url: str, artifacts: Path):
    page.goto(site_url + "/labs/00-setup/")
    text = page.locator("article").inner_text()
    assert "Lab 00" in text and "check(" in text and "raise NotImplementedError()" in text
    page.screenshot(path=str(artifacts / "docs-lab-00.png"), full_page=True)
