"""Persistence: SQLAlchemy models, the engine factory and one repository per aggregate.

Knows nothing of HTTP or of the flag shape beyond storing it as JSON.
"""
