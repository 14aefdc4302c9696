"""Keep lab notebooks rendered as pages when the site is built in two languages.

mkdocs-static-i18n rebuilds every file for each language after mkdocs-jupyter has marked the
notebooks as pages, and a rebuilt .ipynb is a plain asset again: its raw JSON would be copied to
labs/NAME/index.html, and a lab without a translation would be written by the Chinese build over
the English page. Running last, this hook makes them pages again, each language's under its own
folder: zh/labs/00-setup/ from labs/00-setup.zh.ipynb, or from the English one as a fallback.
The plugin gives assets no alternates, so the language switcher would lead to the home page: the
hook names each notebook's page in every language.
"""

import os
import re
from types import SimpleNamespace

from mkdocs.plugins import event_priority
from mkdocs_jupyter.plugin import NotebookFile


@event_priority(-1000)  # after mkdocs-static-i18n
def on_files(files, config):
    i18n = config.plugins.get("i18n")
    language = i18n.current_language if i18n else None
    prefix = f"{language}/" if i18n and language != i18n.default_language else ""
    languages = [lang.locale for lang in i18n.config.languages if lang.build] if i18n else []
    for file in [f for f in files if f.src_uri.endswith(".ipynb")]:
        if isinstance(file, NotebookFile):
            continue
        page = NotebookFile(file, config.use_directory_urls, config.site_dir)
        dest_path, url = file.dest_path, file.url
        if prefix and not dest_path.startswith(prefix):  # an English lab in the Chinese site
            dest_path, url = prefix + dest_path, prefix + url
        page.dest_path, page.url = dest_path, url
        page.name = file.name  # 00-setup, not 00-setup.zh: the title the nav shows
        english_url = url.removeprefix(prefix)
        page.alternates = {  # what the switcher links to: this lab's page in each language
            lang: SimpleNamespace(
                url=english_url if lang == i18n.default_language else f"{lang}/{english_url}"
            )
            for lang in languages
        }
        page.abs_dest_path = os.path.normpath(os.path.join(config.site_dir, dest_path))
        files.remove(file)
        files.append(page)
    return files


HEADING = re.compile(r'<h([1-6])([^>]*?) id="([^"]*)"(.*?)</h\1>', re.S)


@event_priority(-1000)
def on_page_content(html, page, config, files):
    """Unique heading ids in a notebook page. mkdocs-jupyter makes an id of a heading's ASCII
    only, so Chinese headings such as "3. 自我修复" and "练习 3" both get the id "3"; the search
    index then holds two sections at one address, and Material's search fails for every word
    they contain. Repeated ids get _1, _2 (as Python-Markdown's toc does), an empty one a name,
    in the page and its table of contents alike."""
    if not isinstance(page.file, NotebookFile):
        return html
    seen: dict[str, int] = {}

    def unique(anchor: str) -> str:
        anchor = anchor or "section"  # a heading with no ASCII at all ("清理")
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        return anchor if count == 0 else f"{anchor}_{count}"

    def rename(match: re.Match) -> str:
        level, attributes, anchor, inner = match.groups()
        new = unique(anchor)
        inner = inner.replace(f'href="#{anchor}"', f'href="#{new}"')
        return f'<h{level}{attributes} id="{new}"{inner}</h{level}>'

    html = HEADING.sub(rename, html)
    seen.clear()
    for item in _walk(page.toc):
        item.id = unique(item.id)
    return html


def _walk(items):
    for item in items:
        yield item
        yield from _walk(item.children)
