"""The simulator's fake account on its own, without HTTP: the operations answer as the documented API does."""

from __future__ import annotations

import json

import pytest

from reconciler.sim.sim_account import STOCK_REPLICAS, Account, ApiError


def body(**fields) -> bytes:
    return json.dumps(fields).encode()


def test_create_trains_and_lists_newest_first_with_pages():
    account = Account(train_seconds=0, max_page_size=2)
    ids = [account.create(body(replica_name=f"n{i}", train_video_url="https://x/v.mp4"))["replica_id"]
           for i in range(3)]
    first = account.list({"limit": "2", "page": "1"})
    second = account.list({"limit": "2", "page": "2"})
    assert first["total_count"] == second["total_count"] == 3
    assert [r["replica_id"] for r in first["data"] + second["data"]] == ids[::-1]
    assert {r["status"] for r in account.replicas()} == {"completed"}  # train_seconds 0: trained at once


@pytest.mark.parametrize("fields,words", [
    ({"replica_name": "a"}, "train_video_url is required"),
    ({"train_video_url": "https://x/v.mp4", "voice_name": "v"}, "not both"),
    ({"train_image_url": "https://x/i.png"}, "must be given together"),
    ({"train_video_url": "https://x/v.mp4", "model_name": "phoenix-9"}, "invalid model_name"),
    ({"train_video_url": "https://x/v.mp4", "properties": {"background_green_screen": "yes"}}, "a boolean"),
])
def test_a_create_the_api_would_refuse_is_a_400_and_stores_nothing(fields, words):
    account = Account()
    with pytest.raises(ApiError) as e:
        account.create(body(**fields))
    assert e.value.status == 400 and words in e.value.message
    assert account.replicas() == []


def test_stock_replicas_cannot_be_renamed_or_deleted_and_unknown_ids_are_documented_400s():
    account = Account()
    stock = STOCK_REPLICAS[0]
    account.add_replica(**stock, replica_type="system", status="completed")
    for call in (lambda: account.delete_api(stock["replica_id"]),
                 lambda: account.rename_api(stock["replica_id"], body(replica_name="x"))):
        with pytest.raises(ApiError) as e:
            call()
        assert e.value.status == 400 and "stock replicas" in e.value.message
    with pytest.raises(ApiError) as e:
        account.get("rnope", {})
    assert e.value.status == 400 and e.value.payload == {"error": "Invalid replica_id"}
    assert [r["replica_id"] for r in account.replicas(include_system=True)] == [stock["replica_id"]]


def test_rename_and_delete_change_the_account():
    account = Account(train_seconds=60)
    rid = account.create(body(replica_name="a", train_video_url="https://x/v.mp4"))["replica_id"]
    account.rename_api(rid, body(replica_name="b"))
    assert [(r["replica_name"], r["status"]) for r in account.replicas()] == [("b", "started")]
    account.delete_api(rid)
    assert account.replicas() == [] and account.list({})["total_count"] == 0


def test_a_phoenix_45_replica_is_a_watermarked_preview_until_its_finetune_completes():
    """Issue 25: status completed is only a preview; finetune_status (null while it runs) says when it is done.
    Older models never send the field."""
    account = Account(train_seconds=0, finetune_seconds=3600)
    preview = account.create(body(replica_name="new", train_video_url="https://x/v.mp4", model_name="phoenix-4.5"))
    older = account.create(body(replica_name="old", train_video_url="https://x/v.mp4"))
    by_id = {r["replica_id"]: r for r in account.replicas()}
    assert by_id[preview["replica_id"]]["status"] == "completed"
    assert by_id[preview["replica_id"]]["finetune_status"] is None
    assert by_id[preview["replica_id"]]["finetune_progress"] == "0/100"
    assert "finetune_status" not in by_id[older["replica_id"]]
    account.finetune_seconds = 0  # the knob: the fine-tune is over
    assert account.get(preview["replica_id"], {})["finetune_status"] == "completed"
    errored = account.create(body(replica_name="e", train_video_url="https://x/errored.mp4", model_name="phoenix-4.5"))
    assert account.get(errored["replica_id"], {})["finetune_status"] == "errored"
    account.finish(errored["replica_id"], finetune_status=None)  # a test may leave it a preview
    assert account.get(errored["replica_id"], {})["finetune_status"] is None
