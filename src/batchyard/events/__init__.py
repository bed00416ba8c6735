"""Notifications: delivering what the outbox holds (``store/outbox.py``) to each topic's sink.

The scheduler and the API store events in the transactions of the changes they tell; here a worker
per topic takes the due ones in order, sends each as one message, and removes it once the sink took
it, or tries it again later. ``docs/notifications.md`` tells users what they get.
"""
