"""An admin API client for the streaming tests: a fresh project per test, flags, kill/on, SDK keys."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.streaming.processes import ADMIN_TOKEN

ENV = "production"


class Admin:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=20.0
        )
        self.project = f"p{uuid.uuid4().hex[:10]}"
        created = self.http.post("/api/v1/projects", json={"key": self.project, "name": self.project})
        assert created.status_code == 201, created.text

    def use(self, base_url: str) -> Admin:
        """Send the following calls to another server process (same database)."""
        self.http.base_url = httpx.URL(base_url)
        return self

    def create_flag(self, key: str, enabled: bool = True) -> None:
        body = {"kind": "boolean", "variations": [True, False]}
        response = self.http.put(f"/api/v1/projects/{self.project}/flags/{key}", json=body)
        assert response.status_code == 201, response.text
        if enabled:
            self.switch(key, "on")

    def switch(self, key: str, action: str, **params: Any) -> dict[str, Any]:
        body = {"reason": "streaming test"} if action == "kill" else None
        response = self.http.post(self._flag(key, action), json=body, params=params)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def sdk_key(self) -> tuple[str, str]:
        """(secret, key_id)"""
        response = self.http.post(
            f"/api/v1/projects/{self.project}/environments/{ENV}/sdk-keys", json={"name": "streaming"}
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return body["secret"], body["key_id"]

    def revoke(self, key_id: str) -> None:
        response = self.http.delete(f"/api/v1/projects/{self.project}/environments/{ENV}/sdk-keys/{key_id}")
        assert response.status_code == 200, response.text

    def propagation(self) -> dict[str, Any]:
        response = self.http.get(f"/api/v1/projects/{self.project}/environments/{ENV}/propagation")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def close(self) -> None:
        self.http.close()

    def _flag(self, key: str, action: str) -> str:
        return f"/api/v1/projects/{self.project}/environments/{ENV}/flags/{key}/{action}"
