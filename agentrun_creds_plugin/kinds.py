"""Credential kinds: typed pydantic models, the name rule and the input rules.

Seven kinds in two categories, as in AgentRun: ``service`` credentials verify inbound callers,
``third_party`` credentials authenticate outbound calls. Every secret field is a
``pydantic.SecretStr`` so that ``repr``, ``str`` and ``model_dump_json`` never show it.

Validation errors are raised as :class:`InvalidCredentialError` and never as a raw pydantic
``ValidationError``, whose text includes the offending input (which here is a secret).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, TypeAlias

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from . import jwks_rules
from .errors import InvalidCredentialError
from .field_rules import (
    _check_header_name,
    _check_header_value,
    _check_prefix,
    _check_raw_key,
    _has_control,
    check_name,
)

__all__ = [
    "KINDS",
    "PROVIDER_BASE_URLS",
    "ApiKeyCredential",
    "BasicAuthCredential",
    "CloudAccessKeyCredential",
    "Credential",
    "CredentialBase",
    "CustomHeadersCredential",
    "JwtCredential",
    "ModelServiceCredential",
    "ToolApiKeyCredential",
    "check_name",
    "credential_from_dict",
]

#: Default base URLs of the model providers a ``ModelServiceCredential`` knows.
PROVIDER_BASE_URLS: dict[str, str | None] = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "azure_openai": None,
    "dashscope": "https://dashscope.aliyuncs.com/compatible-mode/v1",
    "deepseek": "https://api.deepseek.com/v1",
    "moonshot": "https://api.moonshot.cn/v1",
    "openrouter": "https://openrouter.ai/api/v1",
    "openai_compatible": None,
}


class CredentialBase(BaseModel):
    """Fields and behaviour shared by every kind."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", hide_input_in_errors=True, defer_build=True
    )

    category: ClassVar[Literal["service", "third_party"]]
    secret_fields: ClassVar[tuple[str, ...]] = ()
    #: Optional ``dict[str, SecretStr]`` fields: names public, every value secret.
    secret_maps: ClassVar[tuple[str, ...]] = ()

    expires_at: datetime | None = None

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _invalid(exc, type(self).__name__) from None

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            raise _invalid(exc, cls.__name__) from None

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(
                "expires_at has no time zone; pass an aware datetime such as "
                "datetime.now(timezone.utc) + timedelta(hours=1)"
            )
        return value.astimezone(UTC) if value is not None else None

    def preview(self) -> str:
        """A masked, human-recognisable summary: never enough of a secret to use it."""
        return "****"


def _invalid(exc: ValidationError, where: str) -> InvalidCredentialError:
    messages = []
    for err in exc.errors(include_input=False, include_url=False, include_context=False):
        loc = ".".join(str(p) for p in err["loc"]) or where
        msg = str(err["msg"]).removeprefix("Value error, ")
        messages.append(f"{loc}: {msg}")
    return InvalidCredentialError(f"invalid {where}: " + "; ".join(messages), errors=messages)


def _mask(secret: SecretStr) -> str:
    raw = secret.get_secret_value()
    if len(raw) >= 16:
        return f"{raw[:3]}...{raw[-4:]}"
    return "****"


class ApiKeyCredential(CredentialBase):
    """Inbound API key: callers send the raw key (or ``<prefix> <key>``) in ``header_name``."""

    category: ClassVar[Literal["service", "third_party"]] = "service"
    secret_fields: ClassVar[tuple[str, ...]] = ("api_key",)

    kind: Literal["api_key"] = "api_key"
    api_key: SecretStr
    header_name: str = "Authorization"
    prefix: str | None = None

    @field_validator("api_key")
    @classmethod
    def _raw(cls, v: SecretStr) -> SecretStr:
        return _check_raw_key(v, "api_key")

    @field_validator("header_name")
    @classmethod
    def _hn(cls, v: str) -> str:
        return _check_header_name(v, "header_name")

    @field_validator("prefix")
    @classmethod
    def _pfx(cls, v: str | None) -> str | None:
        return _check_prefix(v)

    def preview(self) -> str:
        return (
            f"{self.header_name}: {self.prefix + ' ' if self.prefix else ''}{_mask(self.api_key)}"
        )


class JwtCredential(CredentialBase):
    """Inbound JWT verification against a static JWKS, an https JWKS URL or an OIDC issuer.

    A fetched key set may need its own request (``jwks_method``, ``jwks_headers`` whose values
    are secret, ``jwks_body``), as the product allows.
    """

    category: ClassVar[Literal["service", "third_party"]] = "service"
    secret_maps: ClassVar[tuple[str, ...]] = ("jwks_headers",)

    kind: Literal["jwt"] = "jwt"
    jwks: dict[str, Any] | None = None
    jwks_url: str | None = None
    oidc_issuer: str | None = None
    jwks_method: Literal["GET", "POST"] = "GET"
    jwks_headers: dict[str, SecretStr] | None = None
    jwks_body: str | None = None
    refresh_interval: int = Field(default=300, ge=1)
    issuer: str | None = None
    audience: str | list[str] | None = None
    required_scopes: list[str] = Field(default_factory=list)
    algorithms: list[str] | None = None

    @field_validator("jwks_url")
    @classmethod
    def _https(cls, v: str | None) -> str | None:
        return None if v is None else jwks_rules.check_jwks_url(v)

    @field_validator("oidc_issuer")
    @classmethod
    def _issuer(cls, v: str | None) -> str | None:
        return None if v is None else jwks_rules.check_issuer(v)

    @field_validator("jwks_method", mode="before")
    @classmethod
    def _method(cls, v: Any) -> str:
        return jwks_rules.check_method(v)

    @field_validator("jwks_headers")
    @classmethod
    def _request_headers(cls, v: dict[str, SecretStr] | None) -> dict[str, SecretStr] | None:
        for name, value in (v or {}).items():
            _check_header_name(name, "jwks_headers (a name)")
            _check_header_value(value.get_secret_value(), f"jwks_headers[{name}]")
            jwks_rules.check_request_header(name, value.get_secret_value())
        return v or None

    @field_validator("jwks")
    @classmethod
    def _public_only(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if v is None else jwks_rules.check_static_jwks(v)

    @field_validator("algorithms")
    @classmethod
    def _algs(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else jwks_rules.check_algorithms(v)

    @model_validator(mode="after")
    def _one_source(self) -> JwtCredential:
        jwks_rules.check_sources(self.jwks, self.jwks_url, self.oidc_issuer, self.issuer)
        fetched, has_headers = self.jwks is None, bool(self.jwks_headers)
        jwks_rules.check_request(fetched, self.jwks_method, has_headers, self.jwks_body)
        return self

    @property
    def token_issuer(self) -> str | None:
        """The ``iss`` tokens must carry: ``issuer``, else the OIDC issuer."""
        return self.issuer or self.oidc_issuer

    def preview(self) -> str:
        if self.jwks is not None:
            return f"jwks with {len(self.jwks.get('keys', []))} key(s)"
        where = f"jwks_url {self.jwks_url}" if self.jwks_url else f"oidc_issuer {self.oidc_issuer}"
        extra: list[str] = [self.jwks_method] if self.jwks_method != "GET" else []
        extra += [f"{n}: ****" for n in self.jwks_headers or {}]
        return f"{where} ({', '.join(extra)})" if extra else where


class BasicAuthCredential(CredentialBase):
    """HTTP Basic. Not for production without HTTPS: base64 is no encryption."""

    category: ClassVar[Literal["service", "third_party"]] = "service"
    secret_fields: ClassVar[tuple[str, ...]] = ("password",)

    kind: Literal["basic"] = "basic"
    username: str
    password: SecretStr

    @field_validator("username")
    @classmethod
    def _user(cls, v: str) -> str:
        if not v or ":" in v or _has_control(v):
            raise ValueError("username must be non-empty, without ':' or control characters")
        return v

    @field_validator("password")
    @classmethod
    def _pw(cls, v: SecretStr) -> SecretStr:
        raw = v.get_secret_value()
        if not raw or _has_control(raw):
            raise ValueError("password must be non-empty, without control characters")
        return v

    def preview(self) -> str:
        return f"{self.username}:****"


class ModelServiceCredential(CredentialBase):
    """An LLM provider's API key (OpenAI, Anthropic, and OpenAI-compatible providers)."""

    category: ClassVar[Literal["service", "third_party"]] = "third_party"
    secret_fields: ClassVar[tuple[str, ...]] = ("api_key",)

    kind: Literal["model_service"] = "model_service"
    provider: str
    api_key: SecretStr
    base_url: str | None = None
    api_version: str | None = None

    @field_validator("provider")
    @classmethod
    def _provider(cls, v: str) -> str:
        if v not in PROVIDER_BASE_URLS:
            raise ValueError(f"unknown provider; use one of {', '.join(PROVIDER_BASE_URLS)}")
        return v

    @field_validator("api_key")
    @classmethod
    def _raw(cls, v: SecretStr) -> SecretStr:
        return _check_raw_key(v, "api_key")

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not v.lower().startswith(("https://", "http://")):
            raise ValueError("base_url must be an http(s) URL")
        return v

    @model_validator(mode="after")
    def _needs_url(self) -> ModelServiceCredential:
        if self.base_url is None and PROVIDER_BASE_URLS[self.provider] is None:
            raise ValueError(f"provider {self.provider} needs a base_url")
        if self.provider == "azure_openai" and not self.api_version:
            raise ValueError("provider azure_openai needs an api_version such as 2024-10-21")
        return self

    @property
    def effective_base_url(self) -> str:
        """``base_url`` when set, else the provider's default."""
        url = self.base_url or PROVIDER_BASE_URLS[self.provider]
        assert url is not None  # _needs_url guarantees it
        return url

    @property
    def api_style(self) -> Literal["openai", "anthropic", "azure_openai"]:
        """Which wire protocol the provider speaks."""
        if self.provider in ("anthropic", "azure_openai"):
            return self.provider  # type: ignore[return-value]
        return "openai"

    def preview(self) -> str:
        return f"{self.provider} {_mask(self.api_key)}"


class ToolApiKeyCredential(CredentialBase):
    """A third-party API key sent in a header (with an optional prefix) or a query parameter."""

    category: ClassVar[Literal["service", "third_party"]] = "third_party"
    secret_fields: ClassVar[tuple[str, ...]] = ("api_key",)

    kind: Literal["tool_api_key"] = "tool_api_key"
    api_key: SecretStr
    location: Literal["header", "query"] = "header"
    param: str = "Authorization"
    prefix: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_prefix(cls, data: Any) -> Any:
        if isinstance(data, dict) and "prefix" not in data:
            location = data.get("location", "header")
            param = data.get("param", "Authorization")
            is_auth = isinstance(param, str) and param.lower() == "authorization"
            data = {**data, "prefix": "Bearer" if location == "header" and is_auth else None}
        return data

    @field_validator("api_key")
    @classmethod
    def _raw(cls, v: SecretStr) -> SecretStr:
        return _check_raw_key(v, "api_key")

    @model_validator(mode="after")
    def _param(self) -> ToolApiKeyCredential:
        if self.location == "header":
            _check_header_name(self.param, "param")
        elif not self.param or _has_control(self.param) or any(c in self.param for c in "&=#"):
            raise ValueError("param must be a query parameter name without '&', '=' or '#'")
        if self.location == "query" and self.prefix is not None:
            raise ValueError("a query parameter never has a prefix; drop prefix")
        _check_prefix(self.prefix)
        return self

    def preview(self) -> str:
        where = "?" if self.location == "query" else ""
        return (
            f"{where}{self.param}: {self.prefix + ' ' if self.prefix else ''}{_mask(self.api_key)}"
        )


class CloudAccessKeyCredential(CredentialBase):
    """An AK/SK pair; requests are signed (SigV4, ACS3-HMAC-SHA256, TC3-HMAC-SHA256)."""

    category: ClassVar[Literal["service", "third_party"]] = "third_party"
    secret_fields: ClassVar[tuple[str, ...]] = ("access_key_secret", "security_token")

    kind: Literal["cloud_ak_sk"] = "cloud_ak_sk"
    provider: Literal["aws", "aliyun", "tencent"]
    access_key_id: str
    access_key_secret: SecretStr
    account_id: str | None = None
    security_token: SecretStr | None = None
    region: str | None = None

    @field_validator("access_key_id")
    @classmethod
    def _akid(cls, v: str) -> str:
        if not v or v != v.strip() or _has_control(v) or " " in v:
            raise ValueError(
                "access_key_id must be non-empty, without spaces or control characters"
            )
        return v

    @field_validator("access_key_secret")
    @classmethod
    def _raw(cls, v: SecretStr) -> SecretStr:
        return _check_raw_key(v, "access_key_secret")

    @field_validator("security_token")
    @classmethod
    def _token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None:
            raw = v.get_secret_value()
            if not raw or _has_control(raw) or raw != raw.strip():
                raise ValueError(
                    "security_token must be non-empty, without surrounding white space or "
                    "control characters"
                )
        return v

    def preview(self) -> str:
        return f"{self.provider} {self.access_key_id} / ****"


class CustomHeadersCredential(CredentialBase):
    """Several (or non-standard) headers, every value secret."""

    category: ClassVar[Literal["service", "third_party"]] = "third_party"

    kind: Literal["custom_headers"] = "custom_headers"
    headers: dict[str, SecretStr]

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, SecretStr]) -> dict[str, SecretStr]:
        if not v:
            raise ValueError("headers needs at least one header")
        for name, value in v.items():
            _check_header_name(name, "headers (a name)")
            _check_header_value(value.get_secret_value(), f"headers[{name}]")
        return v

    def preview(self) -> str:
        return ", ".join(f"{n}: ****" for n in self.headers)


Credential: TypeAlias = Annotated[
    ApiKeyCredential
    | JwtCredential
    | BasicAuthCredential
    | ModelServiceCredential
    | ToolApiKeyCredential
    | CloudAccessKeyCredential
    | CustomHeadersCredential,
    Field(discriminator="kind"),
]

KINDS: dict[str, type[CredentialBase]] = {
    "api_key": ApiKeyCredential,
    "jwt": JwtCredential,
    "basic": BasicAuthCredential,
    "model_service": ModelServiceCredential,
    "tool_api_key": ToolApiKeyCredential,
    "cloud_ak_sk": CloudAccessKeyCredential,
    "custom_headers": CustomHeadersCredential,
}


def credential_from_dict(data: Mapping[str, Any]) -> CredentialBase:
    """Build a kind from a plain mapping with a ``kind`` key (422 on bad input)."""
    kind = data.get("kind")
    if kind not in KINDS:
        raise InvalidCredentialError(f"kind: unknown kind; use one of {', '.join(KINDS)}")
    result: CredentialBase = KINDS[kind](**{k: v for k, v in data.items()})
    return result
