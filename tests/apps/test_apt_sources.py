"""Images are built from the Debian mirror the host's apt already uses."""

from pathlib import Path

import pytest

from docker2k8s.apt_sources import host_mirrors
from docker2k8s.errors import D2KError


def _apt(tmp_path: Path, sources_list: str = "", **parts: str) -> Path:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text(sources_list)
    for name, text in parts.items():
        (tmp_path / "sources.list.d" / name.replace("_", ".")).write_text(text)
    return tmp_path


def test_deb822_sources(tmp_path):
    apt = _apt(
        tmp_path,
        debian_sources=(
            "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\n"
            "Components: main\n\n"
            "Types: deb\nURIs: http://mirror.example/sec\nSuites: bookworm-security\n"
        ),
    )
    mirrors = host_mirrors("bookworm", apt)
    assert mirrors.archive == "http://mirror.example/debian"
    assert mirrors.security == "http://mirror.example/sec"


def test_one_line_sources_with_options_and_derived_security(tmp_path):
    apt = _apt(
        tmp_path,
        "# a comment\ndeb-src http://src.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://classroom.example/debian bookworm main\n",
    )
    mirrors = host_mirrors("bookworm", apt)
    assert mirrors.archive == "http://classroom.example/debian"
    assert mirrors.security == "http://classroom.example/debian-security"


def test_disabled_and_other_suites_are_not_used(tmp_path):
    apt = _apt(
        tmp_path,
        "deb http://old.example/debian bullseye main\n",
        off_sources="Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n",
    )
    with pytest.raises(D2KError, match="D2K_DEBIAN_MIRROR"):
        host_mirrors("bookworm", apt)


def test_this_machine_has_a_mirror():
    assert host_mirrors("bookworm").archive.startswith(("http://", "https://"))
