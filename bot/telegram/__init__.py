"""What every message passes through: the HTTP transport, the send budget and its clocks,
the fan-out, fair shares of incoming updates. No feature knowledge (a card, a protest).
"""
