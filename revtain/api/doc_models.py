"""Models for the parts of requests and answers that views read or write without pydantic: path
segments, the dictionary's ``gateway`` filter, a connector's acknowledgement. The OpenAPI document is
built from them (``openapi.py``); the views keep their own checks and error strings.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from ..connectors import MODULES
from ..engine.declines import gateways
from .schemas import NO_NUL


def _gateway_enum(schema: dict[str, Any]) -> None:
    schema["enum"] = list(gateways())  # the decline catalogue's names, read when the document is built


def _platform_enum(schema: dict[str, Any]) -> None:
    schema["enum"] = list(MODULES)


def _code_length(schema: dict[str, Any]) -> None:
    from .lookup import MAX_CODE_LENGTH  # lookup.py, a view module, imports this one

    schema["maxLength"] = MAX_CODE_LENGTH


Gateway = Annotated[str, Field(json_schema_extra=_gateway_enum)]


class TransactionPath(BaseModel):
    transactionId: str = Field(min_length=1, pattern=NO_NUL, description="execute's transactionId",
                               examples=["01KKZ14FEZK152ZBXEM2XK1B0C"])


class DeclinePath(BaseModel):
    gateway: Gateway
    code: str = Field(min_length=1, description="The gateway's raw decline code", examples=["do_not_honor"],
                      json_schema_extra=_code_length)


class DeclinesQuery(BaseModel):
    gateway: Gateway | None = Field(default=None, description="Only this gateway's codes")


class BinPath(BaseModel):
    prefix: str = Field(pattern=r"^[0-9]{4,8}$", description="The card number's first 4 to 8 digits",
                        examples=["424242"])


class ConnectorPath(BaseModel):
    platform: str = Field(json_schema_extra=_platform_enum, description="The billing platform")
    clientId: str = Field(description="Your client id, as shown in the connector's URL on the dashboard",
                          json_schema_extra={"format": "uuid"})


class CardUpdatePath(BaseModel):
    token: str = Field(min_length=1, description="The link's token, from update-card/generate")


class EmailLinkPath(BaseModel):
    token: str = Field(min_length=1, description="The signed token in the dunning email's link")


class ConnectorReceived(BaseModel):
    """The platform's event was verified and stored; a job does the work."""

    received: Literal[True]
    duplicate: Literal[True] | None = Field(default=None, description="A resend of an event already stored")
    ignored: Literal[True] | None = Field(default=None, description="An event type Revtain does not act on")
