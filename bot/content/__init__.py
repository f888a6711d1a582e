"""What the bot says: the card schema (``schema``) and loading ``content/`` with its checks
(``loading``), the cards it serves and their lookups (``library``, ``search``), and their
rendering to Telegram HTML (``cards``, ``lists``, ``share_text`` for inline mode); ``cli`` is
the editors' ``python -m bot content`` tool."""
