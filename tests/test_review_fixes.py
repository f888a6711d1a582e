"""Small bugs from code review 3 (section 4.1) and the cheap Lows of security review 3, each
over real HTTP against the emulator; each failed before its fix."""

from __future__ import annotations

from chat import say
from conftest import ADMIN_ID, BOT_USERNAME

GROUP, ADMIN_A, ADMIN_B = -1800, 11, 12


async def test_two_group_admins_typing_other_time_zones_are_both_answered(app, emulator):
    """Both admins press "Other…"; each reply is taken, in the order they come."""
    for admin in (ADMIN_A, ADMIN_B):
        emulator.set_admin(GROUP, admin)
    emulator.user_message(
        GROUP, f"/settings@{BOT_USERNAME}", user_id=ADMIN_A, chat_type="supergroup"
    )
    panel = await emulator.next_message(GROUP)
    emulator.press(
        GROUP, panel.message_id, panel.button("Time zone")["callback_data"], user_id=ADMIN_A
    )
    zones = await emulator.next_message(GROUP)
    prompts = {}
    for admin in (ADMIN_A, ADMIN_B):
        emulator.press(
            GROUP, zones.message_id, zones.button("Other")["callback_data"], user_id=admin
        )
        prompts[admin] = await emulator.next_message(GROUP)
    # Tashkent is no city of the list, so it is named by its zone; Paris is.
    for admin, name, city in (
        (ADMIN_A, "Asia/Tashkent", "Asia/Tashkent"),
        (ADMIN_B, "Europe/Paris", "Paris"),
    ):
        emulator.user_message(
            GROUP, name, user_id=admin, chat_type="supergroup", reply_to=prompts[admin].message_id
        )
        saved = await emulator.next_message(GROUP)
        assert f"Time zone saved: {city}." in saved.text
    assert app.bot_data.store.chat(GROUP).timezone == "Europe/Paris"


async def test_the_broadcast_preview_shows_no_link_preview_like_the_broadcast(app, emulator):
    await say(emulator, ADMIN_ID, "/broadcast")
    await say(emulator, ADMIN_ID, "Vigil: https://example.org/vigil")
    await say(emulator, ADMIN_ID, "Акция: https://example.org/vigil")  # the English preview
    await emulator.next_message(ADMIN_ID)  # the Russian one
    previews = [
        r
        for r in emulator.requests
        if r.method == "sendMessage" and "example.org" in str(r.params.get("text"))
    ]
    assert len(previews) == 2
    for request in previews:
        assert (request.params.get("link_preview_options") or {}).get("is_disabled") is True


async def test_a_menu_button_under_an_inline_message_is_answered_without_an_error(app, emulator):
    """L1: a forged menu:settings under a message sent through inline mode (no chat)."""
    update_id = emulator.press_inline("inline-1", "menu:settings", user_id=ADMIN_A, strict=False)
    await emulator.wait_callback_answer(update_id)
