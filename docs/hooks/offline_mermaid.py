"""Serve mermaid.js from the site itself, so diagrams render in air-gapped classrooms.

Material for MkDocs fetches mermaid from a CDN unless a global `mermaid` already exists. This hook
takes mermaid's browser bundle from its npm package (cached outside the repository, never committed)
and adds it to the site as a script. Without npm access the CDN fallback stays (logged).
"""

from __future__ import annotations

import logging
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

from mkdocs.structure.files import File

MERMAID = "mermaid@11.17.2"
SITE_PATH = "assets/vendor/mermaid.min.js"
log = logging.getLogger("mkdocs.hooks.offline_mermaid")


def _cached_bundle() -> Path | None:
    cache = Path(os.environ.get("D2K_CACHE_DIR", Path.home() / ".cache" / "docker2k8s"))
    bundle = cache / "vendor" / MERMAID / "mermaid.min.js"
    if bundle.exists():
        return bundle
    with tempfile.TemporaryDirectory() as tmp:
        try:
            packed = (
                subprocess.run(
                    ["npm", "pack", MERMAID, "--silent", "--pack-destination", tmp],
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=300,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            with tarfile.open(Path(tmp) / packed) as archive:
                member = archive.extractfile("package/dist/mermaid.min.js")
                bundle.parent.mkdir(parents=True, exist_ok=True)
                bundle.write_bytes(member.read())  # type: ignore[union-attr]
        except (OSError, subprocess.SubprocessError, KeyError, IndexError) as error:
            log.info("mermaid stays on the CDN (npm pack %s failed: %s)", MERMAID, error)
            return None
    return bundle


_bundle: Path | None = None


def on_config(config):
    global _bundle
    _bundle = _cached_bundle()
    if _bundle is not None:
        config.extra_javascript.append(SITE_PATH)
    return config


def on_files(files, config):
    if _bundle is not None:
        files.append(File.generated(config, SITE_PATH, abs_src_path=str(_bundle)))
    return files
