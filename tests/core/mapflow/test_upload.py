"""Mapflow uploads (core/mapflow/upload.py): storage left from each answer shape."""

from __future__ import annotations

from mapbridge.core.mapflow.upload import storage_left


def test_storage_left_from_each_answer_shape():
    assert storage_left({"memoryLimit": 100, "memoryUsed": 40, "maxUploadFileSize": 50}) == (60, 50)
    assert storage_left({"memoryFree": 7}) == (7, None)
    assert storage_left({"limit": 10, "used": 3, "free": 7}) == (7, None)
    assert storage_left({}) == (None, None)
