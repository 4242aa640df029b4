"""The blocking implementation, generated from ``_async/`` by tools/async_to_sync.py."""
