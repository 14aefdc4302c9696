"""The site in two languages, in a real browser: the switcher moves between the English and the
Chinese version of a page, and search on the Chinese site finds a Chinese term."""

from __future__ import annotations

from pathlib import Path

import pytest

from docker2k8s.labs import LABS_DIR, is_translation

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


def test_an_untranslated_lab_is_served_in_english_in_the_chinese_site(page, site_url: str):
    untranslated = [
        lab
        for lab in sorted(LABS_DIR.glob("*.ipynb"))
        if not is_translation(lab) and not lab.with_suffix(".zh.ipynb").exists()
    ]
    if not untranslated:
        pytest.skip("every lab has a Chinese version: no fallback is left to show")
    name = untranslated[-1].stem
    page.goto(f"{site_url}/zh/labs/{name}/")
    assert page.locator("html").get_attribute("lang") == "zh"  # the Chinese site's menus
    assert f"Lab {name[:2]}" in page.locator("article").inner_text()  # the English lab
    page.goto(f"{site_url}/labs/{name}/")  # and the English site's page is still English
    assert page.locator("html").get_attribute("lang") == "en"


def test_search_on_the_chinese_site_finds_a_chinese_term(page, site_url: str, artifacts: Path):
    """Chinese text is indexed as words (jieba, at build time), and a phrase typed without spaces
    is split into the same words: 实验工具包 (the lab kit) is a heading of the how-to page."""
    page.goto(site_url + "/zh/")
    page.locator(".md-search__input").click()
    page.keyboard.type("实验工具包")  # typed, as search listens to key events
    results = page.locator(".md-search-result__item")
    results.first.wait_for(timeout=60_000)  # the worker indexes 3 MB of both languages first
    first = results.first
    assert "工具包" in first.inner_text(), results.all_inner_texts()[:3]
    assert "zh/how-to-use/" in (first.locator("a").first.get_attribute("href") or "")
    page.screenshot(path=str(artifacts / "docs-zh-search.png"))
