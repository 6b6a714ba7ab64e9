"""core/push/mapsemble.py: the ids a write answer gives, in the shapes a service may answer with."""

from __future__ import annotations

import pytest

from mapbridge.core.push.mapsemble import ids_of


@pytest.mark.parametrize("answer", [
    {"ids": ["a", "b"]},
    {"created": 2, "updated": 0, "ids": ["a", "b"]},
    {"features": [{"id": "a"}, {"id": "b"}]},
    {"created": [{"id": "a"}, {"id": "b"}]},
    {"data": ["a", "b"]},
    {"data": {"created": [{"id": "a"}, {"id": "b"}], "count": 2}},
    {"data": {"features": [{"type": "Feature", "id": "a"}, {"type": "Feature", "id": "b"}]}},
    {"data": {"ids": ["a", "b"]}},
])
def test_ids_are_read_from_every_answer_shape(answer):
    assert ids_of(answer, 2) == ["a", "b"]


@pytest.mark.parametrize("answer", [{"created": 2}, {"ids": ["a"]}, {"data": {"created": 2}}, [], None])
def test_no_ids_when_the_answer_has_none_for_each_feature(answer):
    assert ids_of(answer, 2) == []
