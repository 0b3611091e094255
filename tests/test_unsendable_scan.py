"""The quick scan that clears most inputs of what no request can carry (a lone surrogate, NaN or
an infinity) before the exact walk that names where each problem is: it may raise a false
alarm (the walk then finds nothing), never let a problem through."""
from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from influx_connector.inputs import _SCAN_SLICE, _clean, _unsendable, _unsendable_walk

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                    st.text(st.characters(), max_size=8))  # Cs included: lone surrogates
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.lists(inner, max_size=5).map(tuple),
    st.dictionaries(st.text(st.characters(), max_size=5), inner, max_size=5)), max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(values)
def test_the_scan_passes_nothing_the_exact_walk_refuses(value) -> None:
    problems = list(_unsendable_walk(value, "data"))
    if problems:
        assert not _clean(value)
    assert list(_unsendable(value, "data")) == problems


def test_a_problem_anywhere_in_a_long_list_of_records_is_found_and_named() -> None:
    records = [{"measurement": "m", "tags": {"h": f"h{i}"}, "fields": {"v": i * 0.5, "n": i}, "time": i}
               for i in range(3 * _SCAN_SLICE + 7)]
    assert _clean(records)
    for index, where, bad in [(0, "fields", math.nan), (_SCAN_SLICE, "tags", "x\ud800"),
                              (3 * _SCAN_SLICE + 6, "fields", -math.inf), (2 * _SCAN_SLICE - 1, "key", None)]:
        changed = [dict(r) for r in records]
        if where == "key":
            changed[index] = {**changed[index], "fields": {"v\udfff": 1.0}}
            expected = f"data[{index}].fields"
        else:
            changed[index] = {**changed[index], where: {**changed[index][where], "x": bad}}
            expected = f"data[{index}].{where}.x"
        assert not _clean(changed)
        assert [path for path, _ in _unsendable(changed, "data")] == [expected]


def test_halves_of_a_surrogate_pair_in_two_texts_are_still_lone() -> None:
    assert not _clean(["a\ud83d", "\ude00b"]) and not _clean({"k": "\ud83d", "l": "\ude00"})
    assert _clean(["a\U0001f600", {"k": "é", "n": [1, 2.5, None, True]}])


def test_a_float_sum_that_overflows_is_a_false_alarm_the_walk_clears() -> None:
    assert not _clean([1e308, 1e308])
    assert list(_unsendable([1e308, 1e308], "data")) == []


def test_types_the_scan_does_not_know_go_to_the_exact_walk() -> None:
    class Text(str):
        pass

    assert not _clean([Text("fine")]) and list(_unsendable([Text("fine")], "data")) == []
    assert not _clean({1: "a key that is not text"})
