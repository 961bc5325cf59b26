"""The SDKs under test, one module each, imported lazily: an init probe loads only the SDK it measures."""

from __future__ import annotations

import importlib

from ..sdk_adapter import SdkEntry

# Column order of the report: Flagstaff first, then the peers.
SDK_NAMES = ("flagstaff", "launchdarkly", "growthbook", "unleash", "flagsmith")


def entry(name: str) -> SdkEntry:
    module = importlib.import_module(f".{name}", __name__)
    sdk_entry: SdkEntry = module.ENTRY
    return sdk_entry
