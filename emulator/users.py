"""Simulated Telegram users: each action becomes the update Telegram would send the bot.

Every method returns the update id (None when Telegram would not deliver the update, e.g. a
plain group message under privacy mode), so tests can wait for the bot's answer to it.
"""

from __future__ import annotations

import re

from .faults import supergroup_id
from .records import BotMessage
from .state import DEFAULT_GROUP_USER_ID, EmulatorState
from .telegram_html import utf16_len
from .validate import parse_formatted

USER_ENTITY_PATTERNS = (
    ("bot_command", re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}")),
    ("url", re.compile(r"https?://\S+")),
)


def user_entities(text: str) -> list[dict]:
    """The entities Telegram's clients attach to typed text (PTB's CommandHandler needs them)."""
    entities = []
    for kind, pattern in USER_ENTITY_PATTERNS:
        for match in pattern.finditer(text):
            entities.append(
                {
                    "type": kind,
                    "offset": utf16_len(text[: match.start()]),
                    "length": utf16_len(match.group(0)),
                }
            )
    return sorted(entities, key=lambda e: e["offset"])


class SimulatedUsers(EmulatorState):
    def _user_id(self, chat: dict, user_id: int | None) -> int:
        if user_id is not None:
            return user_id
        return chat["id"] if chat["type"] == "private" else DEFAULT_GROUP_USER_ID

    def _store_user_message(self, chat: dict, user: dict, fields: dict) -> dict:
        message_id = self.next_message_id(chat["id"])
        message = {
            "message_id": message_id,
            "date": self.now(),
            "chat": chat,
            "from": user,
            **fields,
        }
        self.messages[(chat["id"], message_id)] = {"message": message, "from_bot": False}
        return message

    def _reply_to(self, chat_id: int, reply_to: int | None) -> dict:
        if reply_to is None:
            return {}
        stored = self.messages.get((chat_id, reply_to))
        if stored is None:
            raise LookupError(f"no message {reply_to} in chat {chat_id} to reply to")
        quoted = {k: v for k, v in stored["message"].items() if k != "reply_to_message"}
        return {"reply_to_message": quoted}

    def user_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        language_code: str = "en",
        chat_type: str | None = None,
        reply_to: int | None = None,
    ) -> int | None:
        """The user types text in the chat (a private chat with the bot by default)."""
        chat = self.chat(chat_id, chat_type)
        user = self.user(self._user_id(chat, user_id), language_code)
        fields: dict = {"text": text, **self._reply_to(chat_id, reply_to)}
        if entities := user_entities(text):
            fields["entities"] = entities
        message = self._store_user_message(chat, user, fields)
        if chat["type"] == "private":
            self.blocked.discard(user["id"])  # writing to a bot unblocks it
        elif not self._bot_sees(message):
            return None
        return self.push_update("message", message)

    def _bot_sees(self, message: dict) -> bool:
        """Privacy mode: only commands for this bot and replies to it reach it in groups."""
        status = self.member_status.get((message["chat"]["id"], self.bot_id))
        if not self.privacy_mode or status in ("administrator", "creator"):
            return True
        replied = message.get("reply_to_message", {}).get("from", {})
        if replied.get("id") == self.bot_id:
            return True
        for entity in message.get("entities", []):
            if entity["type"] == "bot_command" and entity["offset"] == 0:
                command = message["text"][: entity["length"]]
                return "@" not in command or command.endswith("@" + self.username)
        return False

    def edited_message(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        user_id: int | None = None,
        language_code: str = "en",
    ) -> int:
        """The user edits a message they sent earlier."""
        chat = self.chat(chat_id)
        stored = self.messages.get((chat_id, message_id))
        if stored is None:
            user = self.user(self._user_id(chat, user_id), language_code)
            message = {"message_id": message_id, "date": self.now(), "chat": chat, "from": user}
        else:
            message = dict(stored["message"])
        message.update({"text": text, "edit_date": self.now()})
        message.pop("entities", None)
        if entities := user_entities(text):
            message["entities"] = entities
        self.messages[(chat_id, message_id)] = {"message": message, "from_bot": False}
        return self.push_update("edited_message", message)

    def channel_post(
        self, chat_id: int, text: str, *, title: str = "Test channel", username: str | None = None
    ) -> int:
        chat = self.chat(chat_id, "channel", title=title, username=username)
        message_id = self.next_message_id(chat_id)
        message = {
            "message_id": message_id,
            "date": self.now(),
            "chat": chat,
            "sender_chat": chat,
            "text": text,
        }
        self.messages[(chat_id, message_id)] = {"message": message, "from_bot": False}
        return self.push_update("channel_post", message)

    # -- buttons and inline mode ------------------------------------------------------------

    def press(
        self,
        chat_id: int,
        message_id: int,
        callback_data: str,
        *,
        user_id: int | None = None,
        language_code: str = "en",
        strict: bool = True,
    ) -> int:
        """The user presses a callback button under one of the bot's messages.

        strict: the button must be on the message now (a real client cannot press others);
        pass strict=False to send stale or forged data.
        """
        chat = self.chat(chat_id)
        stored = self.messages.get((chat_id, message_id))
        if strict:
            self._check_button(
                stored and stored["message"].get("reply_markup"),
                callback_data,
                f"message {message_id} in chat {chat_id}",
            )
        query = {
            "from": self.user(self._user_id(chat, user_id), language_code),
            "chat_instance": str(10**12 + abs(chat_id)),
        }
        if stored is not None:
            query["message"] = stored["message"]
        else:
            query["message"] = {"chat": chat, "message_id": message_id, "date": 0}
        return self._push_callback(query, callback_data)

    def press_inline(
        self,
        inline_message_id: str,
        callback_data: str,
        *,
        user_id: int,
        language_code: str = "en",
        strict: bool = True,
    ) -> int:
        """Press a callback button on a message posted from an inline result."""
        stored = self.inline_messages.get(inline_message_id)
        if strict:
            self._check_button(
                stored and stored.get("reply_markup"),
                callback_data,
                f"inline message {inline_message_id}",
            )
        query = {
            "from": self.user(user_id, language_code),
            "chat_instance": inline_message_id,
            "inline_message_id": inline_message_id,
        }
        return self._push_callback(query, callback_data)

    def _check_button(self, markup: dict | None, data: str, where: str) -> None:
        rows = (markup or {}).get("inline_keyboard", [])
        available = [b["callback_data"] for row in rows for b in row if "callback_data" in b]
        if data not in available:
            raise LookupError(
                f"no button with callback_data {data!r} on {where}; buttons there: {available}"
            )

    def _push_callback(self, query: dict, data: str) -> int:
        query_id = str(self.bot_id * 1000 + self.next_serial())
        query = {"id": query_id, **query, "data": data}
        update_id = self.push_update("callback_query", query)
        self._callback_queries[query_id] = {
            "update_id": update_id,
            "data": data,
            "answered": False,
        }
        return update_id

    def inline_query(
        self,
        user_id: int,
        query: str,
        *,
        offset: str = "",
        language_code: str = "en",
        chat_type: str | None = "sender",
    ) -> int:
        """The user types "@bot query" in some chat."""
        if not self.supports_inline_queries:
            raise RuntimeError("inline mode is off: Emulator(supports_inline_queries=True)")
        query_id = str(self.bot_id * 1000 + self.next_serial())
        payload = {
            "id": query_id,
            "from": self.user(user_id, language_code),
            "query": query,
            "offset": offset,
        }
        if chat_type:
            payload["chat_type"] = chat_type
        update_id = self.push_update("inline_query", payload)
        self._inline_queries[query_id] = {
            "update_id": update_id,
            "query": query,
            "user_id": user_id,
            "answered": False,
        }
        return update_id

    def chosen_inline_result(
        self,
        user_id: int,
        result_id: str,
        query: str = "",
        *,
        inline_message_id: str | None = None,
        language_code: str = "en",
    ) -> int:
        payload = {
            "result_id": result_id,
            "from": self.user(user_id, language_code),
            "query": query,
        }
        if inline_message_id:
            payload["inline_message_id"] = inline_message_id
        return self.push_update("chosen_inline_result", payload)

    def post_inline_result(
        self,
        query_update_id: int,
        result_id: str,
        chat_id: int | None = None,
        *,
        language_code: str = "en",
    ) -> int:
        """The user picks a result of an answered inline query and sends it to chat_id.

        Records the posted message (via_inline=True) in that chat's history and sends the
        bot a chosen_inline_result update, whose id is returned.
        """
        answer = self.inline_answer(query_update_id)
        if answer is None:
            raise LookupError(f"the bot has not answered inline query update {query_update_id}")
        result = next((r for r in answer.results if r["id"] == result_id), None)
        if result is None:
            raise LookupError(
                f"no result {result_id!r}; results: {[r['id'] for r in answer.results]}"
            )
        query = self.update_log[query_update_id]["inline_query"]
        content = result.get("input_message_content") or {}
        raw = content.get("message_text", result.get("title", ""))
        parsed = parse_formatted(raw, content.get("parse_mode"))
        markup = result.get("reply_markup")
        inline_message_id = f"inline-{self.next_serial()}" if markup else None
        if inline_message_id:
            self.inline_messages[inline_message_id] = {
                "chat_id": chat_id,
                "text": parsed.text,
                "entities": parsed.entities,
                "reply_markup": markup,
                "raw_text": raw,
                "parse_mode": content.get("parse_mode"),
            }
        self.record_message(
            BotMessage(
                chat_id=chat_id,
                message_id=None,
                method="inlineResult",
                text=parsed.text,
                raw_text=raw,
                parse_mode=content.get("parse_mode"),
                entities=parsed.entities,
                reply_markup=markup,
                inline_message_id=inline_message_id,
                via_inline=True,
            )
        )
        return self.chosen_inline_result(
            query["from"]["id"],
            result_id,
            query["query"],
            inline_message_id=inline_message_id,
            language_code=language_code,
        )

    # -- membership -------------------------------------------------------------------------

    def _member(self, user: dict, status: str) -> dict:
        member: dict[str, object] = {"status": status, "user": user}
        if status == "kicked":
            member["until_date"] = 0
        elif status == "administrator":
            member.update(ADMIN_RIGHTS)
        elif status == "creator":
            member["is_anonymous"] = False
        return member

    def _bot_membership(self, chat: dict, by_user_id: int, old: str, new: str) -> int:
        self.set_member_status(chat["id"], self.bot_id, new)
        payload = {
            "chat": chat,
            "from": self.user(by_user_id),
            "date": self.now(),
            "old_chat_member": self._member(self.bot_user(), old),
            "new_chat_member": self._member(self.bot_user(), new),
        }
        return self.push_update("my_chat_member", payload)

    def bot_added_to_group(
        self,
        chat_id: int,
        by_user_id: int,
        *,
        chat_type: str = "group",
        title: str | None = None,
        status: str = "member",
    ) -> int:
        """Someone adds the bot to a group (status="administrator" to add it as admin)."""
        chat = self.chat(chat_id, chat_type, title=title)
        self.kicked.discard(chat_id)
        return self._bot_membership(chat, by_user_id, "left", status)

    def bot_removed_from_group(self, chat_id: int, by_user_id: int, *, kicked: bool = True) -> int:
        """The bot is removed; from now on sending there answers 403."""
        self.kicked.add(chat_id)
        old = self.member_status.get((chat_id, self.bot_id), "member")
        return self._bot_membership(
            self.chat(chat_id), by_user_id, old, "kicked" if kicked else "left"
        )

    def user_blocked_bot(self, user_id: int) -> int:
        self.block(user_id)
        return self._bot_membership(self.chat(user_id), user_id, "member", "kicked")

    def user_unblocked_bot(self, user_id: int) -> int:
        self.unblock(user_id)
        return self._bot_membership(self.chat(user_id), user_id, "kicked", "member")

    def migrate_group(
        self,
        chat_id: int,
        new_chat_id: int | None = None,
        *,
        by_user_id: int = DEFAULT_GROUP_USER_ID,
    ) -> int:
        """A basic group becomes a supergroup: the old id answers "migrate" from now on."""
        new_chat_id = new_chat_id or supergroup_id(chat_id)
        old_chat = self.chat(chat_id, "group")
        new_chat = self.chat(new_chat_id, "supergroup", title=old_chat.get("title"))
        self.migrated[chat_id] = new_chat_id
        for key, value in list(self.member_status.items()):
            if key[0] == chat_id:
                self.member_status[(new_chat_id, key[1])] = value
        user = self.user(by_user_id)
        self.push_update(
            "message",
            self._store_user_message(old_chat, user, {"migrate_to_chat_id": new_chat_id}),
        )
        self.push_update(
            "message", self._store_user_message(new_chat, user, {"migrate_from_chat_id": chat_id})
        )
        return new_chat_id

    def raw_update(self, update: dict, *, keep_id: bool = False) -> int:
        """Any update dict, for fuzzing; its update_id is replaced unless keep_id."""
        if keep_id and "update_id" in update:
            return self.push_raw(dict(update))
        self._update_id += 1
        return self.push_raw({**update, "update_id": self._update_id})


ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_pin_messages": True,
}
