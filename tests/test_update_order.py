"""The update processor (``bot.handlers.admission.FairUpdates``): one chat's updates one after
the other, different chats side by side, a channel button in its channel's turn, a flood
dropped rather than queued behind its chat, and nothing kept for a chat once it is idle.

Real PTB ``Update`` objects through the processor's public ``process_update``, as the
Application calls it; each handler is a coroutine that records when it ran."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from telegram import CallbackQuery, Chat, Message, Update, User

from bot import callbacks
from bot.handlers.admission import FairUpdates
from bot.telegram.fairness import Admission, Rate

UNLIMITED = Rate(burst=10**9, per_second=10**9)
CHANNEL = -1001234567890


def message(chat_id: int, user_id: int, text: str = "hello") -> Update:
    chat = Chat(chat_id, Chat.PRIVATE if chat_id > 0 else Chat.SUPERGROUP)
    sent = Message(1, datetime.now(UTC), chat, from_user=User(user_id, "U", False), text=text)
    return Update(next(_ids), message=sent)


def channel_press(chat_id: int, channel: int) -> Update:
    chat = Chat(chat_id, Chat.PRIVATE)
    user = User(chat_id, "U", False)
    under = Message(1, datetime.now(UTC), chat, from_user=user, text="panel")
    data = callbacks.build(callbacks.CHANNEL, "sub", channel)
    query = CallbackQuery("q", user, "instance", message=under, data=data)
    return Update(next(_ids), callback_query=query)


def channel_post(channel: int) -> Update:
    post = Message(1, datetime.now(UTC), Chat(channel, Chat.CHANNEL), text="post")
    return Update(next(_ids), channel_post=post)


_ids = iter(range(1, 10**6))


class Recorder:
    def __init__(self) -> None:
        self.ran: list[str] = []
        self.gate = asyncio.Event()

    async def blocked(self, name: str) -> None:
        self.ran.append(name)
        await self.gate.wait()
        self.ran.append(name + " done")

    async def quick(self, name: str) -> None:
        self.ran.append(name)
        await asyncio.sleep(0)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_one_chats_updates_run_in_order_and_other_chats_beside_them():
    processor = FairUpdates(Admission(user=UNLIMITED), 4)
    seen = Recorder()
    tasks = [asyncio.create_task(processor.process_update(message(5, 5), seen.blocked("5a")))]
    await settle()
    tasks += [
        asyncio.create_task(processor.process_update(message(5, 5), seen.quick(name)))
        for name in ("5b", "5c")
    ]
    tasks.append(asyncio.create_task(processor.process_update(message(6, 6), seen.quick("6a"))))
    await settle()
    assert seen.ran == ["5a", "6a"], "chat 6 is not held up by chat 5, whose next ones wait"
    seen.gate.set()
    await asyncio.gather(*tasks)
    assert seen.ran == ["5a", "6a", "5a done", "5b", "5c"]
    assert len(processor.chats) == 0, "an idle chat keeps no lock"


async def test_a_group_waiting_for_its_turn_holds_no_running_slot():
    """Two running slots; five updates of one busy group (five members) wait for the group's
    turn, and a private chat is answered meanwhile."""
    processor = FairUpdates(Admission(user=UNLIMITED, group=UNLIMITED), 2)
    seen = Recorder()
    group = -1700
    tasks = [asyncio.create_task(processor.process_update(message(group, 1), seen.blocked("g1")))]
    await settle()
    tasks += [
        asyncio.create_task(processor.process_update(message(group, user), seen.quick(f"g{user}")))
        for user in range(2, 6)
    ]
    await settle()
    tasks.append(asyncio.create_task(processor.process_update(message(9, 9), seen.quick("p"))))
    await settle()
    assert seen.ran == ["g1", "p"]
    seen.gate.set()
    await asyncio.gather(*tasks)
    assert seen.ran == ["g1", "p", "g1 done", "g2", "g3", "g4", "g5"]


async def test_a_channel_button_waits_for_the_channels_turn():
    """A channel's panel is pressed in private chats: two admins' presses, and the channel's
    own updates, take turns; another chat does not wait."""
    processor = FairUpdates(Admission(user=UNLIMITED), 8)
    seen = Recorder()
    tasks = [
        asyncio.create_task(
            processor.process_update(channel_press(5, CHANNEL), seen.blocked("admin 5"))
        )
    ]
    await settle()
    tasks += [
        asyncio.create_task(
            processor.process_update(channel_press(6, CHANNEL), seen.quick("admin 6"))
        ),
        asyncio.create_task(processor.process_update(channel_post(CHANNEL), seen.quick("post"))),
        asyncio.create_task(processor.process_update(message(6, 6), seen.quick("chat 6"))),
    ]
    await settle()
    assert seen.ran == ["admin 5"], "the channel's other updates wait, and chat 6's behind them"
    seen.gate.set()
    await asyncio.gather(*tasks)
    assert seen.ran == ["admin 5", "admin 5 done", "admin 6", "post", "chat 6"]
    assert len(processor.chats) == 0


async def test_a_flood_from_one_chat_is_dropped_not_queued_behind_it():
    """Updates waiting for their chat count as their sender's updates in progress, so the
    fairness check drops a flood at once instead of queueing it."""
    processor = FairUpdates(Admission(), 64)
    seen = Recorder()
    tasks = [asyncio.create_task(processor.process_update(message(5, 5), seen.blocked("first")))]
    await settle()
    started: list[int] = []

    async def counted(number: int) -> None:
        started.append(number)

    coroutines = [counted(number) for number in range(10)]
    tasks += [
        asyncio.create_task(processor.process_update(message(5, 5), coroutine))
        for coroutine in coroutines
    ]
    await settle()
    seen.gate.set()
    await asyncio.gather(*tasks)
    # Three besides the first are admitted, the next one earns its "slow down", the rest
    # are dropped unstarted (fairness.MAX_IN_FLIGHT).
    assert started == [0, 1, 2, 3]
    assert all(coroutine.cr_frame is None for coroutine in coroutines), "dropped ones closed"
    assert len(processor.chats) == 0


async def test_two_updates_naming_the_same_two_chats_take_turns_without_deadlock():
    """Admin 5 presses channel A's button while chat 5 is busy; a post in A comes next. In
    the order they came: the press (first for both chats), then the post."""
    processor = FairUpdates(Admission(user=UNLIMITED), 8)
    seen = Recorder()
    busy = asyncio.create_task(processor.process_update(message(5, 5), seen.blocked("chat 5")))
    await settle()
    press = asyncio.create_task(
        processor.process_update(channel_press(5, CHANNEL), seen.quick("press"))
    )
    post = asyncio.create_task(processor.process_update(channel_post(CHANNEL), seen.quick("post")))
    await settle()
    assert seen.ran == ["chat 5"], "the post waits behind the press, which waits for chat 5"
    seen.gate.set()
    await asyncio.wait_for(asyncio.gather(busy, press, post), 5)
    assert seen.ran == ["chat 5", "chat 5 done", "press", "post"]
    assert len(processor.chats) == 0


async def test_an_update_cancelled_while_waiting_is_closed_and_forgotten():
    processor = FairUpdates(Admission(user=UNLIMITED), 4)
    seen = Recorder()
    first = asyncio.create_task(processor.process_update(message(5, 5), seen.blocked("first")))
    await settle()
    waiting_coroutine = seen.quick("never")
    waiting = asyncio.create_task(processor.process_update(message(5, 5), waiting_coroutine))
    await settle()
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    seen.gate.set()
    await first
    assert seen.ran == ["first", "first done"]
    assert waiting_coroutine.cr_frame is None
    assert len(processor.chats) == 0
