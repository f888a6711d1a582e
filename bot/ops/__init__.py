"""Keeping the bot running and its data safe: health checks, alerts to the operator, the
daily backup and restore-at-start.
"""
