"""Bot API methods, answered the way Telegram answers them.

Parameters arrive decoded and validated. Semantic errors a bot can cause (editing a message
that does not exist, an edit that changes nothing, answering a query twice) are violations;
conditions a correct bot must cope with (blocked users, kicked bots) are plain errors.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from typing import Any

from .faults import ApiError, bad_request, migrated
from .records import BotMessage, CallbackAnswer, InlineAnswer, SentDocument
from .spec import UploadedFile
from .telegram_html import ParsedText
from .users import ADMIN_RIGHTS, SimulatedUsers
from .validate import parse_formatted

Method = Callable[[SimulatedUsers, dict, str], Any]
METHODS: dict[str, Method] = {}
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"


def method(*names: str) -> Callable[[Method], Method]:
    def register(function: Method) -> Method:
        for name in names:
            METHODS[name] = function
        return function

    return register


def target_chat(emu: SimulatedUsers, chat_id: int | str, *, sending: bool = True) -> dict:
    """The chat a call addresses, or the error Telegram gives for it."""
    if isinstance(chat_id, str):
        found = next(
            (
                c
                for c in emu.chats.values()
                if chat_id.startswith("@") and c.get("username") == chat_id[1:]
            ),
            None,
        )
        if found is None:
            raise bad_request("chat not found", violation=False)
        chat = found
    else:
        if chat_id in emu.migrated:
            raise migrated(emu.migrated[chat_id])
        if chat_id not in emu.chats and emu.strict_chats:
            raise bad_request("chat not found", violation=False)
        chat = emu.chat(chat_id)
    if not sending:
        return chat
    if chat["type"] == "private" and chat["id"] in emu.blocked:
        raise ApiError(403, "Forbidden: bot was blocked by the user")
    if chat["id"] in emu.kicked:
        kind = "channel chat" if chat["type"] == "channel" else f"{chat['type']} chat"
        raise ApiError(403, f"Forbidden: bot was kicked from the {kind}")
    if chat["type"] == "channel":
        channel_may_post(emu, chat["id"])
    return chat


def channel_may_post(emu: SimulatedUsers, chat_id: int) -> None:
    """Only an administrator with can_post_messages posts (or edits) in a channel; Telegram
    answers anything else with these errors (a bot cannot be a plain member of a channel)."""
    status = emu.member_status.get((chat_id, emu.bot_id))
    if status not in ("administrator", "creator"):
        raise ApiError(403, "Forbidden: bot is not a member of the channel chat")
    if (chat_id, emu.bot_id) in emu.cannot_post:
        raise ApiError(400, "Bad Request: need administrator rights in the channel chat")


def formatted(params: dict, text_key: str, entities_key: str) -> ParsedText:
    if params.get(entities_key) is not None:
        return ParsedText(params[text_key], params[entities_key])
    return parse_formatted(params[text_key], params.get("parse_mode"))


def inline_markup(params: dict) -> dict | None:
    markup = params.get("reply_markup")
    return markup if isinstance(markup, dict) and "inline_keyboard" in markup else None


def store_bot_message(emu: SimulatedUsers, chat: dict, params: dict, fields: dict) -> dict:
    message_id = emu.next_message_id(chat["id"])
    message: dict = {"message_id": message_id, "date": emu.now(), "chat": chat}
    if chat["type"] == "channel":
        message["sender_chat"] = chat
    else:
        message["from"] = emu.bot_user()
    reply = params.get("reply_parameters") or {}
    if reply.get("message_id") is not None:
        replied = emu.messages.get((chat["id"], reply["message_id"]))
        if replied is not None:
            message["reply_to_message"] = {
                k: v for k, v in replied["message"].items() if k != "reply_to_message"
            }
        elif not reply.get("allow_sending_without_reply"):
            raise bad_request("message to be replied not found")
    message.update({key: value for key, value in fields.items() if value})
    if markup := inline_markup(params):
        message["reply_markup"] = markup
    emu.messages[(chat["id"], message_id)] = {"message": message, "from_bot": True}
    emu.delivered[chat["id"]] += 1
    return message


def _record(
    emu: SimulatedUsers,
    method_name: str,
    message: dict,
    source: str,
    parsed: ParsedText,
    params: dict,
    **extra: Any,
) -> None:
    reply = params.get("reply_parameters") or {}
    emu.record_message(
        BotMessage(
            chat_id=message["chat"]["id"],
            message_id=message["message_id"],
            method=method_name,
            text=parsed.text,
            raw_text=source,
            parse_mode=params.get("parse_mode"),
            entities=list(parsed.entities),
            reply_markup=params.get("reply_markup"),
            reply_to=reply.get("message_id"),
            **extra,
        )
    )


@method("sendMessage")
def send_message(emu: SimulatedUsers, params: dict, name: str) -> dict:
    chat = target_chat(emu, params["chat_id"])
    parsed = formatted(params, "text", "entities")
    message = store_bot_message(
        emu, chat, params, {"text": parsed.text, "entities": parsed.entities}
    )
    _record(emu, "sendMessage", message, params["text"], parsed, params)
    return message


def _editable(emu: SimulatedUsers, params: dict) -> tuple[dict, bool]:
    """The stored message (or inline message) an edit addresses; True if inline."""
    if params.get("inline_message_id") is not None:
        if params.get("chat_id") is not None or params.get("message_id") is not None:
            raise bad_request("pass either inline_message_id or chat_id and message_id")
        stored = emu.inline_messages.get(params["inline_message_id"])
        if stored is None:
            raise bad_request("message to edit not found")
        return stored, True
    if params.get("chat_id") is None or params.get("message_id") is None:
        raise bad_request("message identifier is not specified: pass chat_id and message_id")
    chat = target_chat(emu, params["chat_id"])
    stored = emu.messages.get((chat["id"], params["message_id"]))
    if stored is None:
        raise bad_request("message to edit not found")
    if not stored["from_bot"]:
        raise bad_request("message can't be edited")
    return stored, False


def _edit(
    emu: SimulatedUsers,
    params: dict,
    name: str,
    changes: dict,
    parsed: ParsedText | None,
    source: str | None,
) -> dict | bool:
    stored, inline = _editable(emu, params)
    target = stored if inline else stored["message"]
    if not inline and name == "editMessageText" and "text" not in target:
        raise bad_request("there is no text in the message to edit")
    if not inline and name == "editMessageCaption" and "text" in target:
        raise bad_request("there is no caption in the message to edit")
    changes["reply_markup"] = inline_markup(params)  # an edit without markup drops the keyboard
    if all(target.get(key) == (value or None) for key, value in changes.items()):
        raise bad_request(NOT_MODIFIED)
    for key, value in changes.items():
        if value:
            target[key] = value
        else:
            target.pop(key, None)
    if not inline:
        target["edit_date"] = emu.now()
    text = target.get("text", target.get("caption", ""))
    parsed = parsed or ParsedText(text, target.get("entities", target.get("caption_entities", [])))
    emu.record_message(
        BotMessage(
            chat_id=target.get("chat_id") if inline else target["chat"]["id"],
            message_id=None if inline else target["message_id"],
            method=name,
            text=parsed.text,
            raw_text=source if source is not None else text,
            parse_mode=params.get("parse_mode"),
            entities=list(parsed.entities),
            reply_markup=target.get("reply_markup"),
            edited=True,
            inline_message_id=params.get("inline_message_id"),
        )
    )
    return True if inline else target


@method("editMessageText")
def edit_message_text(emu: SimulatedUsers, params: dict, name: str) -> dict | bool:
    parsed = formatted(params, "text", "entities")
    changes = {"text": parsed.text, "entities": parsed.entities}
    return _edit(emu, params, "editMessageText", changes, parsed, params["text"])


@method("editMessageCaption")
def edit_message_caption(emu: SimulatedUsers, params: dict, name: str) -> dict | bool:
    parsed = (
        formatted(params, "caption", "caption_entities")
        if "caption" in params
        else ParsedText("", [])
    )
    changes = {"caption": parsed.text, "caption_entities": parsed.entities}
    return _edit(emu, params, "editMessageCaption", changes, parsed, params.get("caption"))


@method("editMessageReplyMarkup")
def edit_message_reply_markup(emu: SimulatedUsers, params: dict, name: str) -> dict | bool:
    return _edit(emu, params, "editMessageReplyMarkup", {}, None, None)


@method("deleteMessage", "deleteMessages")
def delete_messages(emu: SimulatedUsers, params: dict, name: str) -> bool:
    chat = target_chat(emu, params["chat_id"], sending=False)
    ids = params.get("message_ids") or [params.get("message_id")]
    for message_id in ids:
        if emu.messages.pop((chat["id"], message_id), None) is None:
            if "message_ids" not in params:
                raise bad_request("message to delete not found")
            continue
        emu.deleted.append((chat["id"], message_id))
        emu.emit("delete", (chat["id"], message_id))
    return True


@method("sendDocument")
def send_document(emu: SimulatedUsers, params: dict, name: str) -> dict:
    chat = target_chat(emu, params["chat_id"])
    file = _file(emu, params["document"])
    parsed = (
        formatted(params, "caption", "caption_entities")
        if params.get("caption")
        else ParsedText("", [])
    )
    document = {
        key: file[key]
        for key in ("file_id", "file_unique_id", "file_name", "mime_type", "file_size")
    }
    message = store_bot_message(
        emu,
        chat,
        params,
        {"document": document, "caption": parsed.text, "caption_entities": parsed.entities},
    )
    sent = SentDocument(
        chat_id=chat["id"],
        message_id=message["message_id"],
        file_name=file["file_name"],
        data=file["data"],
        mime_type=file["mime_type"],
        caption=params.get("caption"),
        parse_mode=params.get("parse_mode"),
        file_id=file["file_id"],
    )
    _record(
        emu, "sendDocument", message, params.get("caption") or "", parsed, params, document=sent
    )
    return message


def _file(emu: SimulatedUsers, value: UploadedFile | str) -> dict:
    if isinstance(value, str):
        if value in emu.files:
            return emu.files[value]
        if not value.startswith(("http://", "https://")):
            raise bad_request("wrong file identifier/HTTP URL specified")
        value = UploadedFile(value.rsplit("/", 1)[-1] or "file", b"")
    serial = emu.next_serial()
    mime = (
        value.content_type
        if value.content_type != "application/octet-stream"
        else mimetypes.guess_type(value.filename)[0] or value.content_type
    )
    file: dict[str, Any] = {
        "file_id": f"BQACAgIAAx-emulated-{serial}",
        "file_unique_id": f"AgAD{serial}",
        "file_name": value.filename,
        "mime_type": mime,
        "file_size": len(value.data),
        "data": value.data,
        "file_path": f"documents/file_{serial}_{value.filename}",
    }
    emu.files[file["file_id"]] = file
    return file


@method("getFile")
def get_file(emu: SimulatedUsers, params: dict, name: str) -> dict:
    file = emu.files.get(params["file_id"])
    if file is None:
        raise bad_request("invalid file_id")
    return {key: file[key] for key in ("file_id", "file_unique_id", "file_size", "file_path")}


def claim_query(emu: SimulatedUsers, queries: dict[str, dict], query_id: str) -> dict:
    """The query a bot answers, marked answered: Telegram takes one answer per query, and
    refuses an unknown or already answered one.

    Answering twice is the bot's mistake, unless the update was handed out again after the
    first answer: a bot killed before it confirmed the update gets it anew and cannot know it
    answered (Telegram refuses that answer alike, and the bot must cope with the refusal)."""
    query = queries.get(query_id)
    if query is None:
        raise bad_request(QUERY_INVALID)
    delivered = emu.deliveries[query["update_id"]]
    if query["answered"]:
        mistake = delivered <= query["answered_at"]
        query["answered_at"] = delivered  # one answer per delivery is the bot's due
        raise bad_request(QUERY_INVALID, violation=mistake)
    query["answered"] = True
    query["answered_at"] = delivered
    return query


@method("answerCallbackQuery")
def answer_callback_query(emu: SimulatedUsers, params: dict, name: str) -> bool:
    query = claim_query(emu, emu._callback_queries, params["callback_query_id"])
    answer = CallbackAnswer(
        params["callback_query_id"],
        query["update_id"],
        query["data"],
        params.get("text"),
        bool(params.get("show_alert")),
        params.get("url"),
    )
    emu.callback_answers.append(answer)
    emu.emit("callback_answer", answer)
    return True


@method("answerInlineQuery")
def answer_inline_query(emu: SimulatedUsers, params: dict, name: str) -> bool:
    query = claim_query(emu, emu._inline_queries, params["inline_query_id"])
    answer = InlineAnswer(
        params["inline_query_id"],
        query["update_id"],
        query["query"],
        params["results"],
        params.get("next_offset"),
        bool(params.get("is_personal")),
        params.get("cache_time"),
        params.get("button"),
    )
    emu.inline_answers.append(answer)
    emu.emit("inline_answer", answer)
    return True


@method("getMe")
def get_me(emu: SimulatedUsers, params: dict, name: str) -> dict:
    return {
        **emu.bot_user(),
        "can_join_groups": emu.can_join_groups,
        "can_read_all_group_messages": not emu.privacy_mode,
        "supports_inline_queries": emu.supports_inline_queries,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@method("getChat")
def get_chat(emu: SimulatedUsers, params: dict, name: str) -> dict:
    chat = target_chat(emu, params["chat_id"], sending=False)
    gifts = dict.fromkeys(
        (
            "unlimited_gifts",
            "limited_gifts",
            "unique_gifts",
            "premium_subscription",
            "gifts_from_channels",
        ),
        False,
    )
    return {**chat, "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}


def _member(emu: SimulatedUsers, chat_id: int, user_id: int) -> dict:
    status = emu.member_status.get((chat_id, user_id), "member")
    user = emu.bot_user() if user_id == emu.bot_id else emu.user(user_id)
    member: dict = {"status": status, "user": user}
    if status == "administrator":
        member.update(ADMIN_RIGHTS)
        if emu.chats.get(chat_id, {}).get("type") == "channel":
            # ChatMemberAdministrator's channel-only rights; pinning is for groups only.
            member.pop("can_pin_messages", None)
            member.update(
                {
                    "can_post_messages": (chat_id, user_id) not in emu.cannot_post,
                    "can_edit_messages": True,
                }
            )
    elif status == "creator":
        member["is_anonymous"] = False
    elif status == "kicked":
        member["until_date"] = 0
    elif status == "restricted":
        member.update({"is_member": True, "until_date": 0, **dict.fromkeys(RESTRICTED, False)})
    return member


RESTRICTED = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
)


@method("getChatMember")
def get_chat_member(emu: SimulatedUsers, params: dict, name: str) -> dict:
    chat = target_chat(emu, params["chat_id"], sending=False)
    return _member(emu, chat["id"], params["user_id"])


@method("getChatAdministrators")
def get_chat_administrators(emu: SimulatedUsers, params: dict, name: str) -> list[dict]:
    chat = target_chat(emu, params["chat_id"], sending=False)
    return [
        _member(emu, chat_id, user_id)
        for (chat_id, user_id), status in emu.member_status.items()
        if chat_id == chat["id"] and status in ("administrator", "creator")
    ]


@method("getChatMemberCount")
def get_chat_member_count(emu: SimulatedUsers, params: dict, name: str) -> int:
    chat = target_chat(emu, params["chat_id"], sending=False)
    if chat["type"] == "private":
        return 2
    return max(2, sum(1 for key in emu.member_status if key[0] == chat["id"]))


def scope_key(scope: dict | None) -> str:
    scope = scope or {"type": "default"}
    key = scope["type"]
    for part in ("chat_id", "user_id"):
        if part in scope:
            key += f":{scope[part]}"
    return key


@method("setMyCommands", "deleteMyCommands", "getMyCommands")
def my_commands(emu: SimulatedUsers, params: dict, name: str) -> bool | list[dict]:
    key = (scope_key(params.get("scope")), params.get("language_code") or "")
    if name == "setMyCommands" and params["commands"]:
        emu.commands[key] = params["commands"]
        return True
    if name != "getMyCommands":
        emu.commands.pop(key, None)
        return True
    return emu.commands.get(key, [])


def _bot_text(store: str, key: str) -> Method:
    def handle(emu: SimulatedUsers, params: dict, name: str) -> bool | dict:
        texts: dict[str, str] = getattr(emu, store)
        language = params.get("language_code") or ""
        if emu.requests and emu.requests[-1].method.startswith("set"):
            if params.get(key):
                texts[language] = params[key]
            else:
                texts.pop(language, None)
            return True
        return {key: texts.get(language, "")}

    return handle


for _store, _key, _name in (
    ("descriptions", "description", "Description"),
    ("short_descriptions", "short_description", "ShortDescription"),
    ("names", "name", "Name"),
):
    METHODS[f"setMy{_name}"] = METHODS[f"getMy{_name}"] = _bot_text(_store, _key)


@method("setChatMenuButton", "getChatMenuButton")
def chat_menu_button(emu: SimulatedUsers, params: dict, name: str) -> bool | dict:
    if name == "setChatMenuButton":
        emu.menu_buttons[params.get("chat_id")] = params.get("menu_button") or {"type": "default"}
        return True
    return emu.menu_buttons.get(params.get("chat_id"), {"type": "default"})


@method("logOut", "close", "sendChatAction")
def always_true(emu: SimulatedUsers, params: dict, name: str) -> bool:
    return True


def generic(emu: SimulatedUsers, params: dict, name: str) -> Any:
    """Any other method in the spec: a plausible result of the documented return type."""
    returns = emu.spec.returns(name)
    if returns == ["Message"] and "chat_id" in params:
        chat = target_chat(emu, params["chat_id"])
        parsed = (
            formatted(params, "caption", "caption_entities")
            if params.get("caption")
            else ParsedText(params.get("text", ""), [])
        )
        message = store_bot_message(emu, chat, params, {"caption": parsed.text})
        _record(emu, name, message, params.get("caption") or "", parsed, params)
        return message
    if returns == ["MessageId"]:
        return {"message_id": emu.next_message_id(params.get("chat_id", 0))}
    if returns and returns[0].startswith("Array of"):
        return []
    return True
