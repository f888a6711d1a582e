"""What the bot keeps: the durable TinyDB engine (``engine``), the chats, delivery log, events
and meta on top of it (``repository``), snapshots and restore (``snapshots``), and when to take
them (``safekeeping``)."""
