"""Offline evaluation benchmark: Flagstaff's public SDK API against the Python SDKs of its peers.

Owns the scenarios, the per-SDK adapters, the timing loop and the report. Never talks to a network: every
SDK is loaded from a JSON document on disk through its documented offline entry point.
"""
