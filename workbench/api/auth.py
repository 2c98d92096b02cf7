"""Who may call the CDS Hooks services: a JWT on every call, as CDS Hooks 2.0 ("Trusting CDS Clients") says, and
CORS for browser-based CDS clients.

The JWT is checked against an allow-list of issuers, each with its JWK Set (inline or a file: no network at run
time; or a `jwks_url` fetched only when configured, the `jku` header accepted only when it is that URL):
- the header: `typ` JWT, a `kid`, and an asymmetric `alg` (RS/PS/ES/EdDSA); `none` and HMAC are refused before
  any key is looked at;
- the payload: `iss` in the allow-list; `aud` exactly the URL of the endpoint called (a string, or a list of that
  one string); `exp`, `iat` and `jti` present; `iat` not in the future and `exp` at most five minutes after it;
  `jti` never seen before while the token could still be valid (a replayed call is refused).

Configured by a JSON file (`workbench serve --cds-auth FILE`):
    {"issuers": [{"iss": "https://ehr.example.org", "jwks_file": "ehr-jwks.json",
                  "fhir_servers": ["https://ehr.example.org/fhir"]}],
     "cors_origins": ["https://ehr.example.org"]}
`fhir_servers` are the FHIR servers the service may fetch from with a call's `fhirAuthorization` (any other is
never contacted). `workbench serve --insecure-no-auth` turns the check off for local trials, and every response
then says so in the `X-Workbench-Insecure` header.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
"""The signing algorithms accepted (CDS Hooks: never `none`, never a symmetric one)."""
KEY_TYPES = {"RSA", "EC", "OKP"}
MAX_LIFETIME = 300
"""Seconds a token may be valid for (exp - iat): the replay memory holds every jti this long at most."""
LEEWAY = 30
"""Seconds of clock difference allowed between the CDS client and this server."""
MAX_REMEMBERED = 100_000
INSECURE_HEADER = "X-Workbench-Insecure"
INSECURE_NOTE = "no authentication (--insecure-no-auth): for local trials only, never with patient data"


class AuthConfigError(Exception):
    """The auth configuration cannot be used; the message says what to fix."""


class Refused(Exception):
    """A call refused: `status` 401 (no or bad credentials) and why, in words."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.message, self.status = message, status


@dataclass(frozen=True)
class Issuer:
    iss: str
    keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    jwks_url: str | None = None
    fhir_servers: tuple[str, ...] = ()
    client: jwt.PyJWKClient | None = None

    def key(self, kid: str, jku: str | None) -> jwt.PyJWK:
        if jku is not None and jku != self.jwks_url:
            raise Refused(f"The token's jku ({jku}) is not the JWK Set configured for its issuer.")
        if self.client is not None:
            try:
                return self.client.get_signing_key(kid)
            except jwt.PyJWKClientError as exc:
                raise Refused(f"No key '{kid}' in the issuer's JWK Set ({exc}).") from None
        if kid not in self.keys:
            raise Refused(f"No key '{kid}' in the JWK Set configured for {self.iss}.")
        return self.keys[kid]


class CdsAuth:
    """The JWT check of every CDS Hooks call, and what a verified caller may have fetched for it."""

    def __init__(self, issuers: list[Issuer], cors_origins: tuple[str, ...] = (),
                 clock: Callable[[], float] = time.time) -> None:
        self.issuers = {issuer.iss: issuer for issuer in issuers}
        self.cors_origins = cors_origins
        self.clock = clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: Path) -> CdsAuth:
        try:
            config = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise AuthConfigError(f"cannot read the CDS Hooks auth file {path}: {exc}") from None
        if not isinstance(config, dict) or not isinstance(config.get("issuers"), list) or not config["issuers"]:
            raise AuthConfigError(f"{path} must be a JSON object with a non-empty 'issuers' list")
        issuers = [_issuer(entry, Path(path).parent, path) for entry in config["issuers"]]
        origins = config.get("cors_origins", [])
        if not isinstance(origins, list) or not all(isinstance(o, str) and o != "*" for o in origins):
            raise AuthConfigError(f"{path}: 'cors_origins' must list origins such as https://ehr.example.org "
                                  "(no '*': calls carry credentials)")
        return cls(issuers, tuple(origins))

    def verify(self, authorization: str | None, audience: str) -> dict[str, Any]:
        """The token's claims when it is good for `audience` (the URL called); Refused otherwise."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Refused("This service needs a JWT: send 'Authorization: Bearer <JWT>' signed by a trusted CDS "
                          "client (CDS Hooks 2.0, Trusting CDS Clients).")
        token = token.strip()
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise Refused(f"The bearer token is not a JWT ({exc}).") from None
        alg = header.get("alg")
        if alg not in ASYMMETRIC:
            raise Refused(f"The JWT is signed with {alg!r}; only asymmetric algorithms are accepted "
                          f"({', '.join(ASYMMETRIC)}): never 'none' or a shared-secret HMAC.")
        if header.get("typ") != "JWT" or not isinstance(header.get("kid"), str):
            raise Refused("The JWT header must have typ 'JWT' and the kid of the signing key.")
        issuer = self.issuers.get(unverified.get("iss")) if isinstance(unverified.get("iss"), str) else None
        if issuer is None:
            raise Refused(f"The JWT's issuer {unverified.get('iss')!r} is not one this service trusts.")
        key = issuer.key(header["kid"], header.get("jku"))
        try:
            claims = jwt.decode(token, key.key, algorithms=[alg], issuer=issuer.iss, leeway=LEEWAY,
                                options={"require": ["iss", "aud", "exp", "iat", "jti"], "verify_aud": False})
        except jwt.PyJWTError as exc:
            raise Refused(f"The JWT does not verify: {exc}.") from None
        aud = claims["aud"]
        if aud != audience and aud != [audience]:
            raise Refused(f"The JWT's aud is {aud!r}; it must be exactly the endpoint called, {audience}.")
        now = self.clock()
        if not isinstance(claims["iat"], (int, float)) or claims["iat"] > now + LEEWAY:
            raise Refused("The JWT's iat is in the future.")
        if claims["exp"] - claims["iat"] > MAX_LIFETIME:
            raise Refused(f"The JWT is valid for {claims['exp'] - claims['iat']:.0f} s; at most {MAX_LIFETIME} s "
                          "is accepted (a short-lived token per call).")
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti:
            raise Refused("The JWT's jti must be a non-empty string.")
        with self._lock:
            if len(self._seen) > 1000:  # forget the spent tokens that could no longer be replayed anyway
                self._seen = {k: v for k, v in self._seen.items() if v + LEEWAY >= now}
            remembered = f"{issuer.iss}\0{jti}"
            if remembered in self._seen:
                raise Refused("This JWT was used before (its jti is spent): each call needs a new token.")
            if len(self._seen) >= MAX_REMEMBERED:
                raise Refused("Too many calls in the last few minutes; try again shortly.", 429)
            self._seen[remembered] = float(claims["exp"])
        return claims

    def fhir_server_allowed(self, claims: dict[str, Any] | None, server: str) -> bool:
        """Only a FHIR server configured for the caller's issuer is ever contacted."""
        issuer = self.issuers.get(str((claims or {}).get("iss")))
        return issuer is not None and server.rstrip("/") in {s.rstrip("/") for s in issuer.fhir_servers}


def loopback(server: str) -> bool:
    """A FHIR server on this machine (what --insecure-no-auth may fetch from)."""
    host = urlsplit(server).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _issuer(entry: Any, folder: Path, path: Path) -> Issuer:
    if not isinstance(entry, dict) or not isinstance(entry.get("iss"), str) or not entry["iss"]:
        raise AuthConfigError(f"{path}: each issuer needs 'iss' (the CDS client's issuer URI)")
    sources = [key for key in ("jwks", "jwks_file", "jwks_url") if key in entry]
    if len(sources) != 1:
        raise AuthConfigError(f"{path}: issuer {entry['iss']} needs exactly one of 'jwks', 'jwks_file', 'jwks_url'")
    servers = entry.get("fhir_servers", [])
    if not isinstance(servers, list) or not all(isinstance(s, str) and s.startswith(("https://", "http://"))
                                                for s in servers):
        raise AuthConfigError(f"{path}: issuer {entry['iss']}: 'fhir_servers' must be a list of http(s) URLs")
    if sources == ["jwks_url"]:
        url = entry["jwks_url"]
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise AuthConfigError(f"{path}: issuer {entry['iss']}: 'jwks_url' must be an http(s) URL")
        return Issuer(entry["iss"], jwks_url=url, fhir_servers=tuple(servers),
                      client=jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=5))
    if sources == ["jwks_file"]:
        try:
            jwks = json.loads((folder / str(entry["jwks_file"])).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise AuthConfigError(f"{path}: issuer {entry['iss']}: cannot read its JWK Set: {exc}") from None
    else:
        jwks = entry["jwks"]
    keys: dict[str, jwt.PyJWK] = {}
    for key in (jwks.get("keys") if isinstance(jwks, dict) else None) or []:
        if not isinstance(key, dict) or key.get("kty") not in KEY_TYPES or not isinstance(key.get("kid"), str):
            raise AuthConfigError(f"{path}: issuer {entry['iss']}: every key needs a kid and an asymmetric kty "
                                  f"(RSA, EC or OKP), not {key.get('kty') if isinstance(key, dict) else key!r}")
        if "d" in key:
            raise AuthConfigError(f"{path}: issuer {entry['iss']}: key {key['kid']} is a private key; give the "
                                  "public half only")
        try:
            keys[key["kid"]] = jwt.PyJWK(key)
        except jwt.PyJWTError as exc:
            raise AuthConfigError(f"{path}: issuer {entry['iss']}: key {key['kid']} cannot be used: {exc}") from None
    if not keys:
        raise AuthConfigError(f"{path}: issuer {entry['iss']} has no keys in its JWK Set")
    return Issuer(entry["iss"], keys, fhir_servers=tuple(servers))


class InsecureNotice:
    """Every response says, in a header, that nobody is being authenticated (`--insecure-no-auth`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []),
                                                  (INSECURE_HEADER.lower().encode(), INSECURE_NOTE.encode())]}
            await send(message)

        await self.app(scope, receive, marked)
