"""Temporary files beside an output (core/temp_files.py): only a killed run's own files are swept."""

from __future__ import annotations

import os

from mapbridge.core.temp_files import remove_stale, temporary_beside


def test_only_the_outputs_own_stale_files_are_swept_and_never_a_live_runs(tmp_path, gone_pid):
    stale = [f".survey.{gone_pid}-0123abcd.partial.gpkg", f".survey.{gone_pid}-0123abcd.partial.gpkg-wal",
             ".survey.89abcdef.partial.gpkg",                      # named by an older version (no pid)
             f".survey.{gone_pid}-fedcba98.partial.gpkg-journal"]      # a side file left without its file
    kept = [".survey.1-76543210.partial.gpkg",                     # pid 1 is alive: a load may be writing it
            ".survey.v2.1-0123abcd.partial.gpkg",                  # another output's ("survey.v2"), live
            f".survey.v2.{gone_pid}-0123abcd.partial.gpkg",            # another output's: swept by its own next run
            f".survey.{gone_pid}-0123abcd.part",                       # another kind of temporary file
            "survey.gpkg"]
    for name in stale + kept:
        (tmp_path / name).write_bytes(b"x")
    removed = remove_stale(str(tmp_path), "survey", ".partial.gpkg")
    assert sorted(os.listdir(tmp_path)) == sorted(kept)
    assert sorted(os.path.basename(p) for p in removed) == sorted(
        [f".survey.{gone_pid}-0123abcd.partial.gpkg", ".survey.89abcdef.partial.gpkg",
         f".survey.{gone_pid}-fedcba98.partial.gpkg"])


def test_a_stale_file_that_cannot_be_removed_is_left_for_later_without_failing(tmp_path, gone_pid):
    blocked = tmp_path / f".data.csv.{gone_pid}-0123abcd.part"
    blocked.mkdir()                                   # os.remove refuses a folder, as it would a locked file
    assert remove_stale(str(tmp_path), "data.csv", ".part") == []
    assert blocked.is_dir()


def test_a_temporary_file_is_gone_when_its_block_ends_and_is_not_swept_while_in_use(tmp_path):
    with temporary_beside(str(tmp_path), "out.geojson", ".part") as path:
        with open(path, "wb") as out:
            out.write(b"half")
        assert remove_stale(str(tmp_path), "out.geojson", ".part") == []      # this run is writing it
        assert os.path.exists(path)
    assert os.listdir(tmp_path) == []
