"""strict_json: RFC 8259 §4 duplicates (SEC-11), non-finite numbers (SEC-13), bounds (DESIGN §10)."""

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from did_agents import strict_json
from did_agents.errors import InputTooLargeError, MalformedError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_round_trip(value):
    assert strict_json.loads(strict_json.dumps(value)) == value


@pytest.mark.parametrize(
    "text",
    ['{"a":1,"a":2}', '{"x":{"sub":"u","sub":"m"}}', '[{"alg":"EdDSA","alg":"none"}]'],
)
def test_duplicate_members_are_refused(text):
    with pytest.raises(MalformedError) as info:
        strict_json.loads(text)
    assert info.value.reason == "duplicate_member"


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"exp": -Infinity}', "1e400", "-1e999"])
def test_non_finite_numbers_are_refused(text):
    with pytest.raises(MalformedError):
        strict_json.loads(text)


def test_overlong_integers_are_refused():
    with pytest.raises(MalformedError):
        strict_json.loads("1" * 5000)


def test_size_bound():
    with pytest.raises(InputTooLargeError):
        strict_json.loads(b" " * 101, max_bytes=100)


@pytest.mark.parametrize("depth", [33, 1000, 200_000])
def test_depth_bound_is_fast(depth):
    text = "[" * depth + "]" * depth
    started = time.perf_counter()
    with pytest.raises(InputTooLargeError):
        strict_json.loads(text, max_bytes=10_000_000)
    assert time.perf_counter() - started < 1.0


def test_depth_at_the_limit_is_accepted():
    text = "[" * 32 + "]" * 32
    assert strict_json.loads(text) is not None


def test_invalid_utf8_is_refused():
    with pytest.raises(MalformedError):
        strict_json.loads(b'"\xff"')


def _depth(value):
    """Nesting depth by definition: a scalar is 0, a container one more than its deepest member."""
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


_NESTED = st.recursive(
    st.none() | st.integers() | st.text(max_size=3),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=2), children, max_size=3)
    ),
    max_leaves=40,
)


@given(_NESTED, st.integers(min_value=0, max_value=8))
def test_check_depth_refuses_exactly_what_nests_deeper_than_the_bound(value, bound):
    if _depth(value) > bound:
        with pytest.raises(InputTooLargeError):
            strict_json.check_depth(value, bound)
    else:
        strict_json.check_depth(value, bound)


def test_check_depth_sees_subclasses_of_dict_and_list():
    class Members(dict):
        pass

    with pytest.raises(InputTooLargeError):
        strict_json.check_depth({"a": Members(b=[[1]])}, 3)
    strict_json.check_depth({"a": Members(b=[[1]])}, 4)


def test_check_depth_refuses_a_cycle_and_is_exact_beyond_the_recursion_limit():
    cyclic: list = []
    cyclic.append(cyclic)
    with pytest.raises(InputTooLargeError):
        strict_json.check_depth(cyclic, 32)
    deep: list = []
    for _ in range(4999):
        deep = [deep]  # 5000 levels, deeper than Python's default recursion limit
    strict_json.check_depth(deep, 5000)
    with pytest.raises(InputTooLargeError):
        strict_json.check_depth(deep, 4999)
