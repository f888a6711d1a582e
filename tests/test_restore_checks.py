"""A restored snapshot is checked value by value (issue 22, security review 3 M1 and L8): a
planted broadcast is not sent, and a bad zone or timestamp stops no one's reminders."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime

import pytest
import time_machine
from conftest import running_bot

from bot.ops import backups
from bot.reminders import service
from bot.store import snapshots
from bot.store.models import ChatSettings
from bot.store.repository import Store

SUBSCRIBERS = (4501, 4502, 4503)
PLANTED = "URGENT: the vigil is moved, register here: https://evil.example/form"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(datetime(2026, 12, 8, 6, tzinfo=UTC), tick=True) as traveller:
        yield traveller


async def planted_snapshot(tmp_path):
    source = tmp_path / "source"
    source.mkdir(mode=0o700)
    store = Store.open(source)
    try:
        for chat_id in SUBSCRIBERS:
            await store.put_chat(
                ChatSettings(chat_id, language="en", timezone="Asia/Almaty", subscribed=True)
            )
        path = tmp_path / "snapshot.json"
        snapshots.write_snapshot(store, path)
    finally:
        await store.aclose()
    document = json.loads(path.read_text())
    document["meta"]["fanouts"] = {
        "b:planted": {"kind": "broadcast", "text": {"en": PLANTED, "ru": PLANTED}}
    }
    document["meta"]["reminders.last_swept"] = "2026-12-01T09:00:00"  # naive
    bad = {**document["chats"][0], "chat_id": 4599, "timezone": "Europe"}
    document["chats"].append(bad)
    document["deliveries"]["x" * 200_000] = {"day": 1, "rows": {}}
    path.write_text(json.dumps(document))
    return path


async def test_a_planted_broadcast_and_a_bad_zone_neither_send_nor_stop_reminders(
    emulator, config, tmp_path
):
    snapshots.restore(config.data_dir, await planted_snapshot(tmp_path))
    async with running_bot(config) as app:
        await asyncio.sleep(0.5)  # a resumed fan-out would start at once
        await service.service(app).sweep(datetime(2026, 12, 9, 5, 0, 1, tzinfo=UTC))
        await emulator.wait_for(
            lambda: all(emulator.sent(c) for c in SUBSCRIBERS), timeout=10, what="the reminders"
        )
        assert app.bot_data.store.chat(4599) is None, "the chat with a bad zone was skipped"
    assert not [m for m in emulator.sent() if "evil.example" in m.text]


@pytest.mark.parametrize(
    "meta",
    [
        {"fanouts": "oops"},
        {"reminders.last_swept": "yesterday"},
        {"reminders.last_swept": 1700000000},
    ],
)
def test_bad_bookkeeping_is_dropped_not_restored(tmp_path, meta):
    """Each would make every plan and sweep raise, or be iterated letter by letter."""
    path = tmp_path / "snapshot.json"
    path.write_text(
        json.dumps(
            {
                "format": snapshots.SNAPSHOT_FORMAT,
                "version": 1,
                "chats": [],
                "deliveries": {},
                "events": [],
                "meta": {**meta, "version": 3},
            }
        )
    )
    tables = snapshots.read_snapshot(path)
    assert tables["events"]["meta"]["1"] == {"version": 3}


def test_a_restore_link_must_be_https(config):
    insecure = dataclasses.replace(config, restore_from="http://example.org/snapshot.json")
    with pytest.raises(backups.RestoreError, match="https"):
        backups.restore_if_empty(insecure)
