"""What the bot says: the card schema and its loading from ``content/`` (``schema``), the
cards it serves and their lookups (``library``, ``search``), and their rendering to Telegram
HTML (``cards``, ``lists``); ``cli`` is the editors' ``python -m bot content`` tool."""
