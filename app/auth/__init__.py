"""API keys and roles: key format, hashing, and which role may do what.

Pure functions and enums; looking keys up in the database is the key service's job.
"""
