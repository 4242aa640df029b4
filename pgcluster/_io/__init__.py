"""Hand-written I/O that both shells use: the health monitor, socket-level
checks, the sync/async compatibility names and the function catalog."""
