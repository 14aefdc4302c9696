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


# An image reference as the distribution project's grammar defines it: [host[:port]/]path[:tag]
# [@digest], path components lowercase. The API server accepts other strings, the kubelet not.
_HOST_PART = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = rf"(?:{_HOST_PART}(?:\.{_HOST_PART})*(?::[0-9]+)?/)?"
_PATH = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
_IMAGE = re.compile(
    rf"^{_DOMAIN}{_PATH}(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)


def is_image_reference(image: str) -> bool:
    return len(image) <= 255 and bool(_IMAGE.match(image))
