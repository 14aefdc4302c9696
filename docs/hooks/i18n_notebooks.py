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
