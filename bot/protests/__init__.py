"""Announced protests: the model, where they are stored, the organisers' form, and how
the bot words them.
"""
