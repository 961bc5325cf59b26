"""What use cases accept as an entity's fields, checked when built: lengths, and no NUL character (PostgreSQL
text cannot hold one; refusing it here keeps both backends answering alike).

The API takes these as its request bodies unchanged, under the names its OpenAPI document has always used.
Comments, not docstrings, describe the classes: a docstring would become a description in that document.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

MAX_WEBHOOK_URL_LENGTH = 2000


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
_TEMPORARY = "true for a release flag meant to be removed once rolled out; false for a permanent one"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FlagDefinitionIn(Strict):
    name: Text = Field("", max_length=200, description="a display name; empty means the flag's key")
    description: Text = Field("", max_length=10_000)
    kind: Text = Field(description="boolean, string, number or json (see the flag format)")
    variations: list[Any] = Field(description="the values this flag can serve, referred to by index")
    tags: list[Text] = Field(default=[], max_length=50, description="labels to filter lists by (`?tag=`)")
    temporary: bool = Field(True, description=_TEMPORARY)
    salt: Text | None = Field(None, description="bucketing salt; defaults to the flag key")
    client_side: bool = Field(
        False, description="true: client keys (fs_client_..., public) may evaluate this flag over OFREP"
    )


class FlagDefinitionPatch(Strict):
    """The descriptive fields of a definition; an absent (or null) field is left as it is."""

    name: Text | None = Field(None, max_length=200, description="a display name; empty means the flag's key")
    description: Text | None = Field(None, max_length=10_000)
    tags: list[Text] | None = Field(None, max_length=50, description="replaces the whole list of tags")
    temporary: bool | None = Field(None, description=_TEMPORARY)


# A secret URL that performs one action on one flag when monitoring calls it (docs/api.md, Triggers).
class TriggerIn(Strict):
    name: Text = Field(
        min_length=1, max_length=200, description="what fires it; its changes are audited as `trigger:<name>`"
    )
    flag: Text = Field(min_length=1, max_length=200, description="the flag's key")
    action: Literal["kill", "on", "off"] = Field(description="what a fire does to the flag here")
    fire_on_resolved: bool = Field(
        False,
        description="also perform the action when the alert resolves; by default a resolved notification "
        "is acknowledged and ignored",
    )


# `flag.kill`, or every action of a kind (`flag.*`), or everything (`*`).
EventPattern = Annotated[str, StringConstraints(pattern=r"^(\*|[a-z_]{1,32}\.(\*|[a-z_]{1,32}))$")]


# A URL that receives a signed event for each audited change of one environment (docs/api.md, Webhooks).
class WebhookIn(Strict):
    name: Text = Field(min_length=1, max_length=200)
    url: Text = Field(min_length=1, max_length=MAX_WEBHOOK_URL_LENGTH, description="http:// or https://")
    events: list[EventPattern] | None = Field(
        None,
        min_length=1,
        max_length=50,
        description="audit actions to send (`flag.kill`, `flag.*`, `schedule.*`, ...); null sends every one",
    )
    secret: Text | None = Field(
        None,
        min_length=16,
        max_length=128,
        description="the key that signs each delivery; left out, one is generated (and shown once)",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if any(character.isspace() or ord(character) < 32 for character in url):
            raise ValueError("must not contain spaces or control characters")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not hold credentials (readers see the URL); check the signature instead")
        try:
            parts.port  # noqa: B018 - reading it checks it
        except ValueError:
            raise ValueError("has an invalid port") from None
        return url
