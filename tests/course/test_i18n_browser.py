"""The site in two languages, in a real browser: the switcher moves between the English and the
Chinese version of a page, and search on the Chinese site finds a Chinese term."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser


def switch_language(page, name: str) -> None:
    """Choose a language in Material's header menu, as a reader does (it opens on hover)."""
    page.locator(".md-header__option .md-select").first.hover()
    page.locator(".md-select__link", has_text=name).first.click()
    page.wait_for_load_state()


@pytest.mark.parametrize(
    "path, english, chinese",
    [
        ("/", "who it is for", "适合谁"),
        ("/how-to-use/", "the lab kit", "实验工具包"),
        ("/labs/00-setup/", "Lab 00: setup and orientation", "准备工作与整体认识"),
    ],
    ids=["home", "how-to-use", "lab-00"],
)
def test_the_switcher_changes_the_language_of_a_page(
    page, site_url: str, artifacts: Path, path: str, english: str, chinese: str
):
    page.goto(site_url + path)
    assert page.locator("html").get_attribute("lang") == "en"
    assert english.lower() in page.locator("article").inner_text().lower()

    switch_language(page, "简体中文")
    assert page.url == site_url + "/zh" + path, page.url
    assert page.locator("html").get_attribute("lang") == "zh"
    text = page.locator("article").inner_text()
    assert chinese in text, text[:300]
    page.screenshot(
        path=str(artifacts / f"docs-zh-{path.strip('/').replace('/', '-') or 'home'}.png")
    )

    switch_language(page, "English")
    assert page.url == site_url + path, page.url
    assert english.lower() in page.locator("article").inner_text().lower()
