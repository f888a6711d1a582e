"""What the bot sends unasked, and when: the pure schedule (``schedule``, ``zones``; no
Telegram), the reminders' words (``texts``), protests (``protests``), calendar files
(``calendar``), the JobQueue wiring (``jobs``, ``broadcasts``), and the
fan-out (``fanout``) paced by the one send budget (``send_budget``) that every message of the
bot goes through."""
