"""Real-time propagation: change fan-out between processes, the per-environment stream hub, and SDK presence.

Reads the database through `app.storage` only; knows nothing of HTTP (the SSE route lives in `app.api`).
"""
