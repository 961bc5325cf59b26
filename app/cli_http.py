"""How the `flagstaff` commands that talk to a server reach it: FLAGSTAFF_URL and FLAGSTAFF_API_KEY, one
request at a time, and every failure as one line naming what to fix (a missing variable, an unreachable
server, the server's own error message and field). HTTP only: what to ask, and how to print the answers, is
each command's business."""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any

import httpx

from app.cli_errors import CliError

URL_VARIABLE = "FLAGSTAFF_URL"
KEY_VARIABLE = "FLAGSTAFF_API_KEY"
SERVER_HELP = (
    f"Talks to the server at {URL_VARIABLE} (e.g. http://127.0.0.1:8000) with the admin key in "
    f"{KEY_VARIABLE} (fs_admin_..., printed by the server's first start or made by `flagstaff keys "
    "create-admin`)."
)
# Long enough for a server under load; a `?wait=` adds its own seconds on top.
TIMEOUT_SECONDS = 10.0


class ServerClient:
    """One server, one key. `url_source` is how the user gave the URL, to name it in errors."""

    def __init__(self, url: str | None, key: str | None, *, url_source: str = URL_VARIABLE) -> None:
        if not url:
            raise CliError(
                f"{url_source} is not set: the server's address, e.g. {URL_VARIABLE}=http://127.0.0.1:8000"
            )
        if not key:
            raise CliError(
                f"{KEY_VARIABLE} is not set: an admin key (fs_admin_...), printed by the server's first "
                "start or made by `flagstaff keys create-admin`"
            )
        if not url.startswith(("http://", "https://")):
            raise CliError(
                f"{url_source}={url} is not an http:// or https:// URL, e.g. http://127.0.0.1:8000"
            )
        self.url = url.rstrip("/")
        self._source = f"{url_source}={url}"
        self._http = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {key}"})

    @classmethod
    def from_environment(cls) -> ServerClient:
        return cls(os.environ.get(URL_VARIABLE), os.environ.get(KEY_VARIABLE))

    def __enter__(self) -> ServerClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._http.close()

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        timeout: float = TIMEOUT_SECONDS,
    ) -> Any:
        """The decoded JSON answer of a 2xx response; CliError for anything else."""
        query = {name: value for name, value in (params or {}).items() if value is not None}
        try:
            response = self._http.request(method, path, params=query, json=json, timeout=timeout)
        except httpx.TimeoutException:
            raise CliError(f"{self._source} did not answer within {timeout:g} s") from None
        except httpx.ConnectError as error:
            raise CliError(f"cannot reach {self._source} ({_reason(error)})") from None
        except httpx.HTTPError as error:
            raise CliError(f"cannot talk to {self._source} ({_reason(error)})") from None
        body = _json(response)
        if response.is_success:
            if body is None:
                kind = response.headers.get("content-type", "no content type")
                raise CliError(
                    f"{self._source} answered {path} with {kind}, not JSON: is it a Flagstaff server?"
                )
            return body
        raise CliError(_describe_failure(response, body))


def _json(response: httpx.Response) -> Any:
    if not response.headers.get("content-type", "").startswith("application/json"):
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _describe_failure(response: httpx.Response, body: Any) -> str:
    """`the server answered 422 invalid: <its message> (field: <its field>)`, from the one error shape."""
    detail = body.get("error") if isinstance(body, dict) else None
    if not isinstance(detail, dict):  # not our server's error shape: a proxy's page, say
        text = " ".join(response.text.split())[:200] or response.reason_phrase
        return f"the server answered {response.status_code}: {text}"
    line = f"the server answered {response.status_code} {detail.get('code', '')}: {detail.get('message', '')}"
    if detail.get("field"):
        line += f" (field: {detail['field']})"
    if response.status_code == 401:
        line += f"; check {KEY_VARIABLE}"
    return line


def _reason(error: httpx.HTTPError) -> str:
    """`connection refused` rather than `[Errno 111] Connection refused`."""
    text = str(error) or type(error).__name__
    if text.startswith("[Errno") and "] " in text:
        text = text.split("] ", 1)[1]
    return text[:1].lower() + text[1:]
