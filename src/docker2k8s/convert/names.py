"""Kubernetes object names: Compose and Docker allow names Kubernetes rejects."""

import re

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def dns_label(name: str, limit: int = 63) -> str:
    """A DNS-1123 label (what Service, Pod and container names must be): lowercase
    alphanumerics and '-', starting and ending alphanumeric, at most `limit` characters."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    label = re.sub(r"-{2,}", "-", label)[:limit].strip("-")
    return label or "unnamed"


def is_label_key(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if len(name) > 63 or not _LABEL_NAME.match(name):
        return False
    return not prefix or (len(prefix) <= 253 and bool(_DNS_SUBDOMAIN.match(prefix)))


def is_label_value(value: str) -> bool:
    return len(value) <= 63 and bool(_LABEL_VALUE.match(value))


def image_base_name(image: str) -> str:
    """`registry.example.com/org/text-generation-inference:2.0` -> `text-generation-inference`."""
    last = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[0]
