"""The course in a second language (Simplified Chinese), from one English source.

English stays the source of every page and lab. A gettext catalogue per source file holds the
translation: i18n/zh/docs/<page>.po for docs/<page>.md, i18n/zh/labs/<lab>.po for
solutions/<lab>.ipynb. The msgid of an entry is the English text itself, so an edited English
paragraph or cell simply has no translation any more: that is the staleness signal, exact where a
stored hash would only say "something changed". `d2k i18n update` merges catalogues with their
sources (a changed paragraph keeps its old translation as a fuzzy entry, with the old English
beside it); `d2k i18n build` writes docs/**/<page>.zh.md and labs/<lab>.zh.ipynb for every
complete catalogue; the docs site (mkdocs-static-i18n) falls back to English for the rest.
"""

from docker2k8s.paths import REPO_ROOT

LANGUAGE = "zh"  # the suffix of generated files and the folder of catalogues
LOCALE = "zh_CN"  # the PO header's Language
CATALOGUES_DIR = REPO_ROOT / "i18n" / LANGUAGE
DOCS_DIR = REPO_ROOT / "docs"
