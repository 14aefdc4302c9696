"""The chat page in a real browser (Debian's chromium through Playwright), against the
Compose stack: send, watch tokens stream, reload, history is there, HTML shows as text."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.docker]


@pytest.fixture
def page(browser):
    """A fresh page on the shared chromium; any JavaScript error on it fails the test."""
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def test_send_stream_reload_history(compose_stack, page):
    page.goto(compose_stack.web_url)
    page.wait_for_function("document.getElementById('status').textContent === 'connected'")
    # Record the reply's length at every DOM change, in the page itself: sampling from here
    # would miss steps whenever this machine is busy.
    page.evaluate(
        """() => {
        window.replyLengths = [];
        new MutationObserver(() => {
            const reply = [...document.querySelectorAll('.message.assistant .text')].pop();
            if (reply) window.replyLengths.push(reply.textContent.length);
        }).observe(document.body, {childList: true, subtree: true, characterData: true});
    }"""
    )
    page.fill("#input", "What is a service?")
    page.click("#send")
    reply = page.locator(".message.assistant").last
    page.wait_for_function(
        "() => { const r = [...document.querySelectorAll('.message.assistant')].pop();"
        " return r && !r.classList.contains('streaming') && r.textContent.length > 0; }",
        timeout=30_000,
    )
    lengths = page.evaluate("window.replyLengths")
    growth = sorted(set(lengths))
    assert len(growth) >= 4, f"the reply did not stream token by token: {lengths}"
    answer = reply.locator(".text").text_content()
    assert answer
    replica = reply.get_attribute("data-replica")
    assert replica and f"answered by {replica}" in reply.locator(".meta").text_content()
    # The conversation is listed, and a reload brings the history back from the database.
    page.wait_for_selector("#conversations li")
    page.reload()
    page.wait_for_function("document.querySelectorAll('.message').length >= 2")
    texts = page.locator(".message .text").all_text_contents()
    assert texts[-2:] == ["What is a service?", answer]
    assert page.locator(".message.assistant .meta").last.text_content() == f"answered by {replica}"


def test_html_in_a_message_renders_as_text(compose_stack, page):
    page.goto(compose_stack.web_url)
    page.wait_for_function("document.getElementById('status').textContent === 'connected'")
    page.click("#new-chat")
    evil = '<img src=x onerror="window.__xss=1"><b id="injected">bold</b>'
    page.fill("#input", evil)
    page.click("#send")
    page.wait_for_function(
        "document.querySelector('.message.assistant') && "
        "!document.querySelector('.message.assistant').classList.contains('streaming')"
    )
    page.reload()
    page.wait_for_function("document.querySelectorAll('.message').length >= 2")
    assert page.locator(".message.user .text").first.text_content() == evil
    assert page.locator("#injected").count() == 0
    assert page.locator(".message img").count() == 0
    assert page.evaluate("window.__xss === undefined")
    # The conversation title in the side bar is text too.
    assert page.locator("#conversations li img").count() == 0


def test_a_message_the_database_did_not_store_goes_back_in_the_box(compose_stack, page):
    page.goto(compose_stack.web_url)
    page.wait_for_function("document.getElementById('status').textContent === 'connected'")
    page.click("#new-chat")
    compose_stack.run("stop", "db")
    try:
        page.fill("#input", "Is anyone keeping notes?")
        page.click("#send")
        # The chat waits DB_RETRY_SECONDS (15 s) for the database, then gives up with a 503.
        page.wait_for_selector(".message.user.failed", timeout=60_000)
        assert page.input_value("#input") == "Is anyone keeping notes?"
        assert "database is not reachable" in page.locator("#error").text_content()
    finally:
        compose_stack.run("start", "db")
        compose_stack.wait_healthy("db")
    page.click("#send")  # the same text, sent again
    page.wait_for_function(
        "() => { const r = [...document.querySelectorAll('.message.assistant')].pop();"
        " return r && !r.classList.contains('streaming') && r.textContent.length > 0; }",
        timeout=60_000,
    )
    assert page.input_value("#input") == ""
    page.reload()
    page.wait_for_function("document.querySelectorAll('.message').length >= 2")
    assert page.locator(".message.user .text").all_text_contents() == ["Is anyone keeping notes?"]
