"""The uploader's decisions, without a sandbox: which files are ours, whether there is anything
to publish, and which files stay once the new one is complete."""

from __future__ import annotations

from typing import Any

from uploader.decisions import files_of, imports_pending, nothing_to_publish, replacement_of

OURS = "github-activity.json"


def record(file_id: int, basename: str, **extra: Any) -> dict[str, Any]:
    return {"id": file_id, "basename": basename, **extra}


def legacy(file_id: int) -> dict[str, Any]:
    return record(file_id, "github.json", source="direct-sharing-43")


def test_files_of_splits_ours_from_the_older_integration_s() -> None:
    profile = {"data": [record(1, OURS), record(2, "notes.txt"), legacy(3), record(4, OURS)]}
    ours, old = files_of(profile, filename=OURS)
    assert [r["id"] for r in ours] == [1, 4]
    assert [r["id"] for r in old] == [3]


def test_nothing_to_publish_only_when_nothing_is_staged_duplicated_or_to_import() -> None:
    assert nothing_to_publish(staged_weeks=0, ours=[record(1, OURS)], legacy=[])
    assert nothing_to_publish(staged_weeks=0, ours=[], legacy=[])
    assert not nothing_to_publish(staged_weeks=3, ours=[record(1, OURS)], legacy=[])
    # A crash between complete and delete left two files: merge them into one.
    assert not nothing_to_publish(
        staged_weeks=0, ours=[record(1, OURS), record(2, OURS)], legacy=[]
    )


def test_an_import_is_pending_until_our_file_s_metadata_names_it() -> None:
    old = legacy(3)
    assert imports_pending([old], [record(1, OURS, metadata={"imported": []})])
    done = record(1, OURS, metadata={"imported": ["github.json:3"]})
    assert not imports_pending([old], [done])
    assert not nothing_to_publish(staged_weeks=0, ours=[], legacy=[old])


def test_identical_bytes_keep_the_file_and_delete_the_others() -> None:
    plan = replacement_of([(1, "aaa"), (2, "bbb")], written_sha256="bbb")
    assert plan.keep == 2
    assert plan.deleted_after(2) == [1]


def test_new_bytes_are_uploaded_then_every_old_file_goes() -> None:
    plan = replacement_of([(1, "aaa"), (2, "bbb")], written_sha256="ccc")
    assert plan.keep is None
    assert plan.deleted_after(9) == [1, 2]  # 9: the uploaded file


def test_with_no_file_yet_nothing_is_deleted() -> None:
    plan = replacement_of([], written_sha256="ccc")
    assert plan.keep is None and plan.deleted_after(9) == []
