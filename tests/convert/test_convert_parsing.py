"""The small parsers behind the converters: interpolation, .env files, sizes, durations,
healthcheck tests, port and volume short syntaxes."""

from pathlib import Path

import pytest

from docker2k8s.convert import ConvertError
from docker2k8s.convert.envfiles import parse_env_file
from docker2k8s.convert.interpolation import interpolate
from docker2k8s.convert.normalize import port_short, volume_short
from docker2k8s.convert.probes import http_get
from docker2k8s.convert.quantities import (
    parse_bytes,
    parse_cpus,
    parse_duration,
    quantity_from_bytes,
)

ENV = {"SET": "value", "EMPTY": "", "OTHER": "other"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("$SET", "value"),
        ("${SET}", "value"),
        ("x${SET}y", "xvaluey"),
        ("$SET-suffix", "value-suffix"),
        ("${UNSET:-default}", "default"),
        ("${EMPTY:-default}", "default"),
        ("${EMPTY-default}", ""),
        ("${UNSET-default}", "default"),
        ("${SET:-default}", "value"),
        ("${UNSET:-${OTHER}}", "other"),
        ("${UNSET:-${ALSO_UNSET:-deep}}", "deep"),
        ("${SET:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        ("$$SET", "$SET"),
        ("$${SET}", "${SET}"),
        ("cost: 5$", "cost: 5$"),
        ("$1 and $", "$1 and $"),
        ("${SET:?must be set}", "value"),
        ("${EMPTY?only unset fails}", ""),
        ("${UNSET}", ""),
    ],
)
def test_interpolation(text: str, expected: str) -> None:
    assert interpolate(text, ENV, "test") == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${UNSET:?give me a value}", "required variable UNSET is unset or empty: give me a value"),
        ("${EMPTY:?no empties}", "required variable EMPTY is unset or empty: no empties"),
        ("${UNSET?}", "required variable UNSET is unset: is not set"),
        ("${SET", "has no closing"),
        ("${SET/a/b}", "invalid interpolation format ${SET/a/b}"),
    ],
)
def test_interpolation_errors(text: str, message: str) -> None:
    with pytest.raises(ConvertError) as err:
        interpolate(text, ENV, "services.web.image")
    assert message in str(err.value) and str(err.value).startswith("services.web.image")


def test_unset_variables_are_reported() -> None:
    seen: list[str] = []
    assert interpolate("a${NOPE}b$NOPE2", {}, "x", seen.append) == "ab"
    assert seen == ["NOPE", "NOPE2"]


def test_env_file(tmp_path: Path) -> None:
    path = tmp_path / "app.env"
    path.write_text(
        "# comment\n\nA=1\nexport B=two words\nC='single $A'\nD=\"double\\nline $A\"\n"
        'E=value # trailing comment\nF=a#b\nFROM_ENV\nMISSING\nG="multi\nline"\nH=${A}x\n'
    )
    values = parse_env_file(path, {"FROM_ENV": "env"}, interpolate)
    assert values == {
        "A": "1",
        "B": "two words",
        "C": "single $A",
        "D": "double\nline 1",
        "E": "value",
        "F": "a#b",
        "FROM_ENV": "env",
        "MISSING": None,
        "G": "multi\nline",
        "H": "1x",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [("=oops\n", "app.env:1: '=oops' is not KEY=VALUE"), ('A="open\n', "unterminated")],
)
def test_env_file_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "app.env"
    path.write_text(text)
    with pytest.raises(ConvertError) as err:
        parse_env_file(path, {})
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("size", "quantity"),
    [
        ("1g", "1Gi"), ("1gb", "1Gi"), ("1G", "1Gi"), ("512m", "512Mi"), ("2.5g", "2560Mi"),
        ("64k", "64Ki"), (1073741824, "1Gi"), ("100", "100"), ("1t", "1Ti"), ("1536m", "1536Mi"),
    ],
)  # fmt: skip
def test_sizes(size: object, quantity: str) -> None:
    assert quantity_from_bytes(parse_bytes(size, "x")) == quantity


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10s", 10), ("1m30s", 90), ("500ms", 0.5), ("1h", 3600), ("2", 2), (30, 30), ("1.5s", 1.5)],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text, "x") == pytest.approx(seconds)


@pytest.mark.parametrize(("cpus", "quantity"), [("0.5", "500m"), (2, "2"), ("1.25", "1250m")])
def test_cpus(cpus: object, quantity: str) -> None:
    assert parse_cpus(cpus, "x") == quantity


HEALTH = "http://localhost"
PROBE_CASES = [
    (["CMD", "curl", "-f", f"{HEALTH}:8000/health"], {"path": "/health", "port": 8000}),
    (["CMD-SHELL", "curl -fsS http://127.0.0.1/ || exit 1"], {"path": "/", "port": 80}),
    (["CMD-SHELL", f"wget -q --spider {HEALTH}:8080/ping"], {"path": "/ping", "port": 8080}),
    (["CMD", "wget", "-qO-", f"{HEALTH}/v1/models?x=1"], {"path": "/v1/models?x=1", "port": 80}),
    (
        ["CMD", "curl", "-k", "https://localhost:8443/h"],
        {"path": "/h", "port": 8443, "scheme": "HTTPS"},
    ),
    (
        ["CMD", "curl", "-H", "Host: api", f"{HEALTH}/h"],
        {"path": "/h", "port": 80, "httpHeaders": [{"name": "Host", "value": "api"}]},
    ),
    (["CMD", "curl", "-f", "http://db:8000/health"], None),  # not localhost
    (["CMD", "curl", "-X", "POST", f"{HEALTH}/"], None),  # not a GET
    (["CMD-SHELL", f"curl -f {HEALTH}/ && test -f /ready"], None),  # more than a fetch
    (["CMD", "pg_isready"], None),
]


@pytest.mark.parametrize(("test", "action"), PROBE_CASES)
def test_http_probe_detection(test: list[str], action: dict[str, object] | None) -> None:
    assert http_get(test) == action


def test_volume_short_forms() -> None:
    assert volume_short("data:/data:ro", "v")["type"] == "volume"
    assert volume_short("./conf:/conf", "v")["type"] == "bind"
    assert volume_short("/srv:/srv:rw,z", "v")["_options"] == ["z"]
    assert volume_short("/cache", "v") == {
        "type": "volume", "source": None, "target": "/cache", "_raw": "/cache",
    }  # fmt: skip
    with pytest.raises(ConvertError, match="unknown mount option 'rx'"):
        volume_short("a:/b:rx", "v")


def test_port_ranges() -> None:
    ports = port_short("9000-9001:8000-8001/udp", "p")
    assert [(p["published"], p["target"], p["protocol"]) for p in ports] == [
        ("9000", 8000, "UDP"), ("9001", 8001, "UDP"),
    ]  # fmt: skip
    with pytest.raises(ConvertError, match="ranges differ in length"):
        port_short("9000-9002:8000-8001", "p")
