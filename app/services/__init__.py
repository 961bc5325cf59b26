"""Use cases: one transaction each, with revision bump, change log and audit. No HTTP here."""
