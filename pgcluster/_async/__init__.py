"""The asyncio implementation: the source the sync twins in ``_sync/`` are generated from."""
