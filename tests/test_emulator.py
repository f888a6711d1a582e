"""The local Bot API emulator and the terminal sandbox, driven by real python-telegram-bot."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    SwitchInlineQueryChosenChat,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
)
from telegram.request import HTTPXRequest

from bot.config import Config
from emulator import Emulator, EmulatorThread, HtmlParseError, parse_html
from emulator.make_spec import DEFAULT_SOURCE, dump, trim
from emulator.sandbox import language_from_env, render_text, run_sandbox_async

TOKEN = "123456:TEST-token"
ROOT = Path(__file__).resolve().parents[1]
USER = 4242


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(token=TOKEN) as running:
        yield running


@pytest.fixture
async def bot(emulator: Emulator) -> AsyncIterator[Bot]:
    async with Bot(
        TOKEN, base_url=emulator.base_url, base_file_url=emulator.base_file_url
    ) as client:
        yield client


# -- a minimal application, the way the real bot is wired ----------------------------------


def keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("More", callback_data="more"),
                InlineKeyboardButton("Site", url="https://example.org"),
            ],
            [
                InlineKeyboardButton(
                    "Share",
                    switch_inline_query_chosen_chat=SwitchInlineQueryChosenChat(
                        query="massacre", allow_user_chats=True, allow_group_chats=True
                    ),
                )
            ],
        ]
    )


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    language = update.effective_user.language_code
    greeting = "Привет" if language == "ru" else "Hello"
    await update.effective_message.reply_html(
        f"<b>{greeting}</b>, secret: <tg-spoiler>16 Dec</tg-spoiler> "
        f'<a href="https://example.org/card">card</a>',
        reply_markup=keyboard(),
    )


async def more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.callback_query.answer("Loading")
    await update.callback_query.edit_message_text("<i>More facts</i>", parse_mode="HTML")


async def inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.inline_query.query
    await update.inline_query.answer(
        [
            InlineQueryResultArticle(
                id=f"card-{index}",
                title=f"Card {index} for {query}",
                input_message_content=InputTextMessageContent(
                    f"<b>Card {index}</b>", parse_mode="HTML"
                ),
                reply_markup=InlineKeyboardMarkup(
                    [
                        [
                            InlineKeyboardButton(
                                "Open", url="https://t.me/zhanaozen_sandbox_bot?start=card-1"
                            )
                        ]
                    ]
                ),
            )
            for index in range(3)
        ]
    )


async def send_file(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_document(
        b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
        filename="zhanaozen.ics",
        caption="<b>Calendar</b>",
        parse_mode="HTML",
    )


def build_stand_in(config: Config) -> Application:
    """What bot.app.build_application does, reduced to the handlers these tests need."""
    application = (
        Application.builder()
        .token(config.token)
        .base_url(config.base_url)
        .base_file_url(config.base_file_url)
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("calendar", send_file))
    application.add_handler(CallbackQueryHandler(more, pattern="^more$"))
    application.add_handler(InlineQueryHandler(inline))
    return application


@contextlib.asynccontextmanager
async def running(emulator: Emulator) -> AsyncIterator[Application]:
    application = build_stand_in(Config(token=TOKEN, api_url=emulator.root_url))
    async with application:
        await application.updater.start_polling(poll_interval=0, timeout=2)
        await application.start()
        try:
            yield application
        finally:
            await application.updater.stop()
            await application.stop()


def retry_seconds(error: RetryAfter) -> int:
    """From the message: reading retry_after warns about its type change in PTB 23."""
    match = re.search(r"Retry in (\d+) seconds|Retry in (\d+):(\d\d):(\d\d)", str(error))
    if match.group(1):
        return int(match.group(1))
    hours, minutes, secs = (int(part) for part in match.groups()[1:])
    return hours * 3600 + minutes * 60 + secs


# -- HTML parse mode -----------------------------------------------------------------------


def test_html_entities_use_utf16_offsets() -> None:
    parsed = parse_html(
        "😀 <b>bold <i>both</i></b> &lt;&#33;&#x41;&quot;&amp;"
        '<pre><code class="language-python">x = 1</code></pre>'
        "<blockquote expandable>q</blockquote>"
        '<a href="https://e.org/?a=1&b=&lt;">l</a>'
    )
    assert parsed.text == '😀 bold both <!A"&x = 1ql'
    types = {entity["type"]: entity for entity in parsed.entities}
    assert types["bold"] == {"type": "bold", "offset": 3, "length": 9}
    assert types["italic"] == {"type": "italic", "offset": 8, "length": 4}
    assert types["pre"]["language"] == "python"
    assert "code" not in types
    assert types["expandable_blockquote"]["length"] == 1
    assert types["text_link"]["url"] == "https://e.org/?a=1&b=<"  # a bare & is fine in a tag


@pytest.mark.parametrize(
    "html, fragment",
    [
        ("<div>x</div>", 'Unsupported start tag "div"'),
        ("<b>x", 'end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag"),
        ("1 < 2", 'Unsupported start tag ""'),
        ("Tom & Jerry", 'Unescaped "&"'),
        ("a&nbsp;b", "&nbsp;"),
        ('<span class="x">s</span>', "tg-spoiler"),
        ("<b", "Unclosed start tag"),
        ("<tg-emoji>x</tg-emoji>", "emoji-id"),
        # Malformed <a> tags: what an unescaped quote or a careless link turns a message into.
        ('<a href="https://e.org/?ref="leaflet"">x</a>', "attribute"),
        ("<a href=https://e.org>x</a>", "Unexpected end of name token"),
        ("<a href>x</a>", "Expected equal sign"),
        ('<a href="https://e.org>x</a>', "Unclosed start tag"),
    ],
)
def test_html_rejects_what_telegram_rejects(html: str, fragment: str) -> None:
    with pytest.raises(HtmlParseError) as error:
        parse_html(html)
    assert fragment in str(error.value)


def test_vendored_spec_is_the_trimmed_upstream_spec() -> None:
    """``botapi_spec.json`` is what ``make_spec`` makes of the ``api.json`` beside it in the
    repository: a new Bot API version is one file replaced and one command run."""
    assert DEFAULT_SOURCE.is_relative_to(ROOT)
    vendored = ROOT / "emulator" / "botapi_spec.json"
    trimmed = dump(trim(json.loads(DEFAULT_SOURCE.read_text(encoding="utf-8"))))
    assert vendored.read_text(encoding="utf-8") == trimmed


# -- the raw API ---------------------------------------------------------------------------


async def test_get_me_and_html_message(emulator: Emulator, bot: Bot) -> None:
    assert bot.username == "zhanaozen_sandbox_bot"
    assert bot.supports_inline_queries
    message = await bot.send_message(
        USER, "<b>Hi</b> 😀 <tg-spoiler>x</tg-spoiler>", parse_mode="HTML", reply_markup=keyboard()
    )
    assert message.text == "Hi 😀 x"
    assert message.entities[1].type == "spoiler" and message.entities[1].offset == 6
    assert message.reply_markup == keyboard()
    record = emulator.sent(USER)[0]
    assert (record.text, record.parse_mode, record.buttons[0]["callback_data"]) == (
        "Hi 😀 x",
        "HTML",
        "more",
    )
    assert emulator.delivered[USER] == 1
    assert emulator.violations == []


async def test_long_polling_offset_limit_and_allowed_updates(emulator: Emulator, bot: Bot) -> None:
    first = emulator.user_message(USER, "one")
    emulator.user_message(USER, "two")
    updates = await bot.get_updates(limit=1)
    assert [u.update_id for u in updates] == [first]
    updates = await bot.get_updates(offset=first + 1)
    assert [u.message.text for u in updates] == ["two"]
    waiting = asyncio.create_task(bot.get_updates(offset=updates[-1].update_id + 1, timeout=5))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    pressed = emulator.press(USER, 1, "forged", strict=False)
    assert [u.update_id for u in await waiting] == [pressed]
    emulator.user_message(USER, "ignored")
    latest = emulator.inline_query(USER, "q")
    updates = await bot.get_updates(offset=pressed + 1, allowed_updates=["inline_query"])
    assert [u.update_id for u in updates] == [latest]


async def test_violations_are_recorded_and_answered_400(emulator: Emulator, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)parse entities"):
        await bot.send_message(USER, "<div>x</div>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await bot.send_message(USER, "x" * 4097)
    await bot.send_message(USER, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")  # fits
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(
            USER,
            "x",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("é", callback_data="é" * 33)]]
            ),
        )
    with pytest.raises(BadRequest, match=r"(?i)exactly one"):
        await bot.send_message(
            USER,
            "x",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("two", callback_data="a", url="https://e.org")]]
            ),
        )
    update_id = emulator.inline_query(USER, "q")
    query_id = emulator.update(update_id)["inline_query"]["id"]
    results = [
        InlineQueryResultArticle(str(i), "t", InputTextMessageContent("m")) for i in range(51)
    ]
    with pytest.raises(BadRequest, match=r"(?i)RESULTS_TOO_MUCH"):
        await bot.answer_inline_query(query_id, results)
    pressed = emulator.press(USER, 1, "x", strict=False)
    query_id = emulator.update(pressed)["callback_query"]["id"]
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await bot.answer_callback_query(query_id, "x" * 201)
    await bot.answer_callback_query(query_id, "x" * 200)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query_id)  # twice
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Start", "Begin")])
    with pytest.raises(BadRequest, match=r"(?i)language_code"):
        await bot.set_my_description("d", language_code="rus")
    with pytest.raises(BadRequest, match=r"(?i)unknown parameter"):
        await bot.send_message(USER, "x", api_kwargs={"colour": "red"})
    with pytest.raises(BadRequest, match=r"(?i)start parameter"):
        await bot.send_message(
            USER,
            "x",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("Open", url="https://t.me/some_bot?start=" + "x" * 65)]]
            ),
        )
    async with httpx.AsyncClient(base_url=f"{emulator.base_url}{TOKEN}/") as raw:
        response = await raw.post("sendMesage", data={"chat_id": "1"})
        assert response.status_code == 404
        assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        response = await raw.post("sendMessage", json={"chat_id": 1})  # JSON bodies work too
        assert response.json()["description"] == (
            "Bad Request: text: required parameter is missing"
        )
        response = await raw.get("sendMessage", params={"chat_id": "5", "text": "query string"})
        assert response.json()["result"]["text"] == "query string"
    problems = "\n".join(emulator.violations)
    for expected in (
        "sendMessage: can't parse entities",
        "4097 characters",
        "BUTTON_DATA_INVALID",
        "answerInlineQuery: RESULTS_TOO_MUCH",
        "setMyCommands: BOT_COMMAND_INVALID",
        "colour: unknown parameter",
        "sendMesage: unknown method",
        "text: required parameter is missing",
    ):
        assert expected in problems
    assert len(emulator.sent(USER)) == 1 and len(emulator.sent()) == 2
    emulator.reset()
    assert emulator.violations == [] and emulator.sent() == [] and emulator.requests == []


async def test_a_query_answered_again_after_its_update_came_again_is_no_mistake(
    emulator: Emulator, bot: Bot
) -> None:
    """A bot killed after answering a press but before confirming its update gets the update
    again and answers again: Telegram refuses that answer, and so does the emulator, but it
    is not the bot's mistake. Answering twice one delivery still is."""
    await bot.send_message(USER, "x", reply_markup=keyboard())
    pressed = emulator.press(USER, 1, "more")
    (update,) = await bot.get_updates(offset=pressed)
    await bot.answer_callback_query(update.callback_query.id)
    (again,) = await bot.get_updates(offset=pressed)  # not confirmed: handed out again
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(again.callback_query.id)
    assert emulator.violations == []
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(again.callback_query.id)  # twice for one delivery
    assert emulator.violations == [
        "answerCallbackQuery: query is too old and response timeout expired or query ID is invalid"
    ]


async def test_edits_deletes_and_their_errors(emulator: Emulator, bot: Bot) -> None:
    message = await bot.send_message(USER, "a", reply_markup=keyboard())
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text("a", USER, message.message_id, reply_markup=keyboard())
    edited = await bot.edit_message_text("b", USER, message.message_id)
    assert edited.reply_markup is None  # an edit without markup drops the keyboard
    assert [r.edited for r in emulator.sent(USER)] == [False, True]
    await bot.edit_message_reply_markup(USER, message.message_id, reply_markup=keyboard())
    assert emulator.message(USER, message.message_id)["reply_markup"]["inline_keyboard"]
    assert await bot.delete_message(USER, message.message_id)
    with pytest.raises(BadRequest, match=r"(?i)not found"):
        await bot.delete_message(USER, message.message_id)
    assert emulator.deleted == [(USER, message.message_id)]
    assert emulator.violations == [
        "editMessageText: " + "message is not modified: specified new message content and "
        "reply markup are exactly the same as a current content and reply markup of the message",
        "deleteMessage: message to delete not found",
    ]


async def test_only_an_administrator_who_may_post_posts_in_a_channel(
    emulator: Emulator, bot: Bot
) -> None:
    """As Telegram: 403 to a channel the bot is not in, 400 when it may not post there."""
    channel = -1001000000077
    emulator.add_channel(channel, "emu_channel")
    with pytest.raises(Forbidden, match="not a member of the channel chat"):
        await bot.send_message(channel, "a")
    emulator.set_admin(channel, emulator.bot_id, can_post_messages=False)
    with pytest.raises(BadRequest, match=r"(?i)need administrator rights in the channel chat"):
        await bot.send_message("@emu_channel", "a")
    emulator.set_admin(channel, emulator.bot_id)
    message = await bot.send_message(channel, "a")
    assert message.sender_chat and message.sender_chat.id == channel
    emulator.set_member_status(channel, emulator.bot_id, "left")
    with pytest.raises(Forbidden):
        await bot.edit_message_text("b", channel, message.message_id)
    assert emulator.violations == [], "a bot must cope with these: not its mistakes"


async def test_documents_are_stored_and_downloadable(emulator: Emulator, bot: Bot) -> None:
    message = await bot.send_document(
        USER, b"BEGIN:VCALENDAR", filename="z.ics", caption="<b>Cal</b>", parse_mode="HTML"
    )
    document = emulator.documents(USER)[0]
    assert (document.file_name, document.data, document.caption) == (
        "z.ics",
        b"BEGIN:VCALENDAR",
        "<b>Cal</b>",
    )
    assert message.caption == "Cal" and message.document.mime_type == "text/calendar"
    file = await bot.get_file(message.document.file_id)
    assert await file.download_as_bytearray() == bytearray(b"BEGIN:VCALENDAR")
    again = await bot.send_document(USER, message.document.file_id)  # resend by file_id
    assert again.document.file_name == "z.ics"


async def test_commands_descriptions_members_and_chats(emulator: Emulator, bot: Bot) -> None:
    await bot.set_my_commands([("start", "Main menu")])
    await bot.set_my_commands([("start", "Главное меню")], language_code="ru")
    assert emulator.commands_for("default", "ru") == [
        {"command": "start", "description": "Главное меню"}
    ]
    assert (await bot.get_my_commands())[0].description == "Main menu"
    await bot.set_my_short_description("Short", language_code="ru")
    assert emulator.short_descriptions == {"ru": "Short"}
    assert await bot.set_chat_menu_button()
    emulator.bot_added_to_group(-100, USER, status="administrator")
    emulator.set_admin(-100, USER, "creator")
    assert (await bot.get_chat_member(-100, USER)).status == "creator"
    assert (await bot.get_chat_member(-100, bot.id)).status == "administrator"
    assert (await bot.get_chat(-100)).type == "group"


# -- an Application, polling ----------------------------------------------------------------


async def test_application_conversation(emulator: Emulator) -> None:
    async with running(emulator):
        emulator.user_message(USER, "/start", language_code="ru")
        greeting = await emulator.next_message(USER)
        assert greeting.text.startswith("Привет, secret: 16 Dec")
        assert greeting.reply_to is None
        pressed = emulator.press(USER, greeting.message_id, "more")
        answer = await emulator.wait_callback_answer(pressed)
        assert answer.text == "Loading"
        edit = await emulator.next_message(USER)
        assert (edit.edited, edit.text, edit.reply_markup) == (True, "More facts", None)
        with pytest.raises(LookupError):
            emulator.press(USER, greeting.message_id, "more")  # the keyboard is gone
        query = emulator.inline_query(USER, "massacre")
        results = await emulator.wait_inline_answer(query)
        assert [r["id"] for r in results.results] == ["card-0", "card-1", "card-2"]
        emulator.post_inline_result(query, "card-1", USER)
        posted = await emulator.next_message(USER)
        assert posted.via_inline and posted.text == "Card 1" and posted.inline_message_id
        emulator.user_message(USER, "/calendar")
        document = await emulator.next_message(USER)
        assert document.document.file_name == "zhanaozen.ics" and document.text == "Calendar"
    assert emulator.violations == []


async def test_group_privacy_mode(emulator: Emulator, bot: Bot) -> None:
    added = emulator.bot_added_to_group(-5, USER, title="Solidarity")
    assert emulator.user_message(-5, "just chatting", user_id=USER) is None
    assert emulator.user_message(-5, "/start@other_bot", user_id=USER) is None
    command = emulator.user_message(-5, "/start@zhanaozen_sandbox_bot", user_id=USER)
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [added, command]
    assert updates[0].my_chat_member.new_chat_member.status == "member"
    emulator.bot_removed_from_group(-5, USER)
    with pytest.raises(Forbidden, match=r"(?i)kicked"):
        await bot.send_message(-5, "hello?")


async def test_emulator_thread_serves_another_loop() -> None:
    with EmulatorThread(token=TOKEN) as thread:
        async with Bot(TOKEN, base_url=thread.base_url) as client:
            thread.user_message(USER, "/start")
            [update] = await client.get_updates()
            await update.message.reply_text("pong")
            reply = await asyncio.to_thread(thread.next_message, USER, 2)
            assert reply.text == "pong" and reply.reply_to is None
            assert thread.violations == []


# -- faults and flood limits ----------------------------------------------------------------

RETRY_AFTER_TYPE_WARNING = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)


@RETRY_AFTER_TYPE_WARNING
async def test_injected_faults(emulator: Emulator, bot: Bot) -> None:
    emulator.inject("sendMessage", "429", retry_after=7)
    with pytest.raises(RetryAfter) as limited:
        await bot.send_message(USER, "x")
    assert retry_seconds(limited.value) == 7
    emulator.inject("sendMessage", "403", chat_id=USER)
    await bot.send_message(USER + 1, "other chat is fine")
    with pytest.raises(Forbidden, match=r"(?i)blocked"):
        await bot.send_message(USER, "x")
    emulator.inject("sendMessage", "400")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(USER, "x")
    emulator.inject("sendMessage", "migrate")
    with pytest.raises(ChatMigrated) as migrated:
        await bot.send_message(-77, "x")
    assert migrated.value.new_chat_id == -10077
    emulator.inject(None, "500", times=2)  # any method
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.get_chat(USER)
    assert (await bot.get_chat(USER)).id == USER
    assert emulator.violations == []
    assert emulator.delivered == {USER + 1: 1}


async def test_probabilistic_faults_are_reproducible() -> None:
    def outcomes(seed: int) -> list[bool]:
        emulator = Emulator(seed=seed)
        fault = emulator.inject("sendMessage", "500", probability=0.5)
        return [fault.matches("sendMessage", 1, emulator.rng) for _ in range(20)]

    assert outcomes(3) == outcomes(3)
    assert 0 < sum(outcomes(3)) < 20


async def test_timeout_holds_the_request_and_may_still_deliver(emulator: Emulator) -> None:
    request = HTTPXRequest(read_timeout=0.3)
    async with Bot(TOKEN, base_url=emulator.base_url, request=request) as impatient:
        emulator.inject("sendMessage", "timeout", apply=True)
        with pytest.raises(TimedOut):
            await impatient.send_message(USER, "sent although the answer was lost")
        emulator.inject("sendMessage", "timeout")
        with pytest.raises(TimedOut):
            await impatient.send_message(USER, "never sent")
    assert [r.text for r in emulator.sent(USER)] == ["sent although the answer was lost"]


@RETRY_AFTER_TYPE_WARNING
async def test_rate_limit(emulator: Emulator, bot: Bot) -> None:
    limiter = emulator.rate_limit(global_per_second=3, per_group_per_minute=2)
    limiter.clock = lambda: 100.0  # frozen time: the windows never drain
    for chat in (1, 2, 3):
        await bot.send_message(chat, "x")
    with pytest.raises(RetryAfter):
        await bot.send_message(4, "x")
    limiter.global_per_second = None
    for _ in range(2):
        await bot.send_message(-9, "x")
    with pytest.raises(RetryAfter) as limited:
        await bot.send_message(-9, "x")
    assert retry_seconds(limited.value) == 60
    assert emulator.too_many_requests == 2
    assert sum(emulator.delivered.values()) == 5


# -- webhook, conflicts, standalone --------------------------------------------------------


async def test_webhook_delivery_and_polling_conflict(emulator: Emulator, bot: Bot) -> None:
    received: list[tuple[dict, str | None]] = []

    class Hook(tornado.web.RequestHandler):
        def post(self) -> None:
            received.append(
                (
                    json.loads(self.request.body),
                    self.request.headers.get("X-Telegram-Bot-Api-Secret-Token"),
                )
            )

    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(tornado.web.Application([("/hook", Hook)]))
    server.add_sockets(sockets)
    try:
        emulator.webhook_target = f"http://127.0.0.1:{sockets[0].getsockname()[1]}/hook"
        await bot.set_webhook("https://bot.example.org/hook", secret_token="s3cret")
        update_id = emulator.user_message(USER, "hi")
        await emulator.wait_for(lambda: received and not emulator.pending)
        assert received[0][0]["update_id"] == update_id and received[0][1] == "s3cret"
        assert (await bot.get_webhook_info()).pending_update_count == 0
        with pytest.raises(Exception, match=r"(?i)webhook is active"):
            await bot.get_updates()
    finally:
        server.stop()


async def test_second_poller_terminates_the_first(emulator: Emulator, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    async with httpx.AsyncClient() as second:  # another bot instance, same token
        response = await second.post(f"{emulator.base_url}{TOKEN}/getUpdates")
    assert response.json() == {"ok": True, "result": []}
    with pytest.raises(Exception, match=r"(?i)terminated by other getUpdates"):
        await first


def test_standalone_cli_starts_and_prints_its_url() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        line = process.stdout.readline()
        assert "BOT_API_URL=http://127.0.0.1:" in line
    finally:
        process.terminate()
        process.wait(timeout=10)


# -- the terminal sandbox ------------------------------------------------------------------


def test_render_text_hides_spoilers_and_shows_links() -> None:
    parsed = parse_html('a <tg-spoiler>b<b>c</b></tg-spoiler> <a href="https://e.org">d</a>')
    assert render_text(parsed.text, parsed.entities) == "a ▒▒▒ [spoiler] d (https://e.org)"
    assert render_text(parsed.text, parsed.entities, reveal=True) == "a bc d (https://e.org)"
    assert language_from_env({"LANG": "ru_RU.UTF-8"}) == "ru"
    assert language_from_env({"LANG": "C"}) == "en"


async def test_sandbox_chat_with_piped_input(tmp_path: Path) -> None:
    typed = (
        "\n".join(
            [
                "/start",
                "1",
                "/reveal",
                "/lang ru",
                "/start",
                "3",
                "9",
                "2",
                "@bot massacre",
                "1",
                "/quit",
                "/start",
            ]
        )
        + "\n"
    )
    out = io.StringIO()
    await run_sandbox_async(
        Config(token=None, data_dir=tmp_path),
        language="en",
        stdin=io.StringIO(typed),
        stdout=out,
        build=build_stand_in,
    )
    text = out.getvalue()
    assert text.splitlines()[0].startswith("No BOT_TOKEN set") and "@BotFather" in text
    assert "bot: Hello, secret: ▒▒▒ [spoiler] card (https://example.org/card)" in text
    assert "[1] More   [2] Site" in text and "[3] Share" in text
    assert "[notification] Loading" in text
    assert "bot (edited): More facts" in text
    assert "(your Telegram language is now ru)" in text
    assert "bot: Привет, secret: 16 Dec" in text  # revealed after /reveal
    assert "[1] Card 0 for massacre" in text  # from the Share button's inline query
    assert "(no button [9]; choose 1-3)" in text
    assert "you via @zhanaozen_sandbox_bot: Card 1" in text
    assert "you via @zhanaozen_sandbox_bot: Card 0" in text
    assert text.count("Hello") + text.count("Привет") == 2  # nothing after /quit
    assert text.rstrip().endswith("Bye.")
    assert "violation" not in text
