"""Flagstaff server: admin REST API, flag store, audit log and the SDK snapshot endpoint.

The evaluation engine is not here: it lives once, in the `flagstaff` SDK, which this package imports.
"""
