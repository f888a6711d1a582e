"""What the bot keeps: a chat's settings (``models``), the chats, delivery log, events and meta
(``repository``) on a durable TinyDB engine (``engine``) and its files (``files``), snapshots
and restore (``snapshots``), and when to take them (``safekeeping``)."""
