"""Property-based fuzzing of both converters (Hypothesis): whatever the input, the result is
manifests that serialise, or a ConvertError naming the problem (exit 2 in the CLI), never another
exception. Generated inputs use the real keys and flags with values of every shape."""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

import yaml
from convert_checks import FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docker2k8s.convert import ConvertError, convert_compose, convert_docker_run, to_yaml
from docker2k8s.convert.compose import SERVICE_KEYS
from docker2k8s.convert.docker_run import _BOOL_FLAGS, _VALUE_FLAGS

# Values of every shape YAML can hold, and some a Compose file often has.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["1g", "512m", "0.5", "8080:80", "all", "nvidia", "gpu", "/data", "a:b:c",
                     "x:/data:ro", "1.2.3.4:80:80/udp", "CMD curl -f http://localhost", "10s"]),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
services = st.dictionaries(
    st.sampled_from(sorted(SERVICE_KEYS)), values, min_size=1, max_size=6
).map(lambda svc: {"image": "example/app:1.0", **svc})
compose_files = st.dictionaries(
    st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True), services, min_size=1, max_size=3
).map(lambda svcs: {"services": svcs})

flag_words = st.one_of(
    st.tuples(
        st.sampled_from(sorted(_VALUE_FLAGS)),
        st.text(max_size=20)
        | st.sampled_from(
            ["1", "inf", "-3", "all", "device=0,1", "8080:80", "v:/data", "1g", "a=b", "", "0.5"]
        ),
    ).map(lambda pair: [f"--{pair[0]}", pair[1]]),
    st.sampled_from(sorted(_BOOL_FLAGS)).map(lambda name: [f"--{name}"]),
    st.text(min_size=1, max_size=8).map(lambda word: [f"-{word}"]),
)
commands = st.tuples(
    st.lists(flag_words, max_size=6),
    st.text(max_size=30) | st.just("example/app:1.0"),
    st.lists(st.text(max_size=10), max_size=3),
).map(lambda parts: ["docker", "run", *(w for f in parts[0] for w in f), parts[1], *parts[2]])

FUZZ = settings(
    max_examples=1000,
    deadline=2000,  # ms per input
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,  # the same inputs on every run: a failure here is reproducible
    database=None,
)


def _serialises(objects: list[dict]) -> None:
    text = to_yaml(objects)
    assert all(isinstance(o, dict) and o.get("kind") for o in yaml.safe_load_all(text) if o)


@FUZZ
@given(compose_files)
def test_compose_files_convert_or_are_refused(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "compose.yaml"
        try:
            path.write_text(yaml.safe_dump(data, allow_unicode=True))
        except (ValueError, OverflowError):
            return  # a value YAML itself cannot write
        try:
            result = convert_compose(path, environ={})
        except ConvertError as error:
            assert str(error).strip()
            return
        _serialises(result.objects)


@FUZZ
@given(commands)
def test_docker_run_commands_convert_or_are_refused(words):
    try:
        result = convert_docker_run(words[2:], environ={})
    except ConvertError as error:
        assert str(error).strip()
        return
    _serialises(result.objects)


def test_the_value_strategies_reach_the_hard_cases():
    """inf, nan and huge numbers are among the generated scalars (they once crashed)."""
    found = set()

    @settings(max_examples=300, derandomize=True)
    @given(scalars)
    def collect(value):
        if isinstance(value, float) and (math.isinf(value) or math.isnan(value)):
            found.add("non-finite")

    collect()
    assert "non-finite" in found


CORPUS = sorted((Path(__file__).parent / "malformed").glob("*.yaml"))


def test_the_malformed_corpus_converts_or_is_refused(tmp_path):
    """Each file of tests/convert/malformed (make_corpus.py) in its fixture's folder, so the env
    files and secrets it names exist: manifests, or a ConvertError, nothing else."""
    assert len(CORPUS) >= 200
    folders = {}
    for fixture in ("features", "llm-stack"):
        folders[fixture] = tmp_path / fixture
        shutil.copytree(FIXTURES / fixture, folders[fixture])
    outcomes = {"converted": 0, "refused": 0}
    for path in CORPUS:
        folder = folders["llm-stack" if path.name.startswith("llm-stack-") else "features"]
        target = folder / "compose.yaml"
        target.write_bytes(path.read_bytes())
        try:
            result = convert_compose(target, environ={"MYSQL_ROOT_PASSWORD": "x"})
        except ConvertError as error:
            assert str(error).strip(), path.name
            outcomes["refused"] += 1
            continue
        _serialises(result.objects)
        outcomes["converted"] += 1
    assert outcomes["converted"] and outcomes["refused"], outcomes
