"""Signed webhooks: subscriptions an admin manages, and the deliveries sent to them.

A delivery row is written in the same transaction as the queue or appointment
change it tells of (``triggers``), sent after the commit by a Huey task
(``delivery``), in order per subscription, retried with back-off. See
docs/webhooks.md.
"""
