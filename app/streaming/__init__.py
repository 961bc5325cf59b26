"""Real-time propagation: change fan-out between processes, the per-environment stream hub, and SDK presence.

Reads the database only through the `ChangeSource` role it is given, so it holds no SQL; knows nothing of
HTTP (the SSE route and its response live in `app.api`).
"""
