"""What the bot says: the card schema (``schema``) and loading ``content/`` with its checks
(``loading``), the cards it serves and the one search over them (``library``, ``search``, with
``intent`` for greetings, ``dates`` for dates in words and ``folding`` for scripts and case
endings), and their rendering to Telegram HTML (``cards``, ``lists``, ``share_text`` for
inline mode); ``cli`` is the editors' ``python -m bot content`` tool."""
