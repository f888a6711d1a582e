"""A person typing and pressing buttons in a chat with the bot, for tests that talk to it."""

from __future__ import annotations

from emulator import BotMessage, Emulator


async def say(emulator: Emulator, chat_id: int, text: str, language: str = "en") -> BotMessage:
    """Send text as the chat's own user and wait for the bot's next message there."""
    emulator.user_message(chat_id, text, user_id=chat_id, language_code=language)
    return await emulator.next_message(chat_id)


async def press(
    emulator: Emulator, chat_id: int, message: BotMessage, label: str, language: str = "en"
) -> BotMessage:
    """Press the button whose label contains ``label`` and wait for the bot's answer."""
    emulator.press(
        chat_id,
        message.message_id,
        message.button(label)["callback_data"],
        user_id=chat_id,
        language_code=language,
    )
    return await emulator.next_message(chat_id)
