"""The tokens of OpenID Connect sign-in: the client assertion we sign, the ID token we check.

Pure functions (no network, no hub), so every refusal is unit-tested with keys made in the test.
GOV.UK One Login's rules: the token endpoint is authenticated with ``private_key_jwt`` (RFC 7523);
the ID token is signed by a key of the provider's JWKS, names the provider as ``iss`` and us as
``aud``, has not expired, carries the ``nonce`` we sent, and its ``vot`` (vector of trust) meets the
``vtr`` we asked for.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization

__all__ = ["IDTokenRefused", "check_id_token", "check_vot", "client_assertion", "expected_nonce",
           "load_private_key", "public_jwk", "vtr_param"]

# One Login's credential levels, weakest first: "Cl" a password, "Cl.Cm" a password and a second factor.
CREDENTIAL_LEVELS = ("Cl", "Cl.Cm")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class IDTokenRefused(ValueError):
    """The provider's answer cannot sign anyone in; the message says what was wrong, for the person."""


def load_private_key(path: str | Path):
    """The site's private key from a PEM file, with an error naming the file and the fix."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ValueError(f"cannot read the OIDC private key {path} ({e.strerror}): set auth.private_key to a "
                         "PEM file readable by the hub (see the README: 'Sign in with GOV.UK One Login')") from None
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{path} is not an unencrypted PEM private key ({e}): make one with "
                         f"'openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out {path}'") from None


def _algorithm(key) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1":
        return "ES256"
    raise ValueError("the OIDC private key must be RSA (2048 bits or more) or EC P-256: make a new one")


def public_jwk(key, kid: str | None = None) -> dict:
    """The public half of ``key`` as a JWK (what a provider registers for ``private_key_jwt``)."""
    alg = _algorithm(key)
    algorithm = jwt.get_algorithm_by_name(alg)
    jwk = json.loads(algorithm.to_jwk(key.public_key()))
    jwk.update({"alg": alg, "use": "sig", "kid": kid or key_id(key)})
    return jwk


def key_id(key) -> str:
    """A stable ``kid`` for ``key``: the SHA-256 of its public key (DER), hex, 16 characters."""
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:16]


def client_assertion(key, client_id: str, audience: str, *, now: float | None = None, lifetime: int = 300) -> str:
    """A ``private_key_jwt`` client assertion: ``iss`` = ``sub`` = ``client_id``, ``aud`` the token endpoint.

    Each one has a fresh ``jti`` and lives ``lifetime`` seconds (One Login accepts up to 5 minutes).
    """
    now = int(time.time() if now is None else now)
    claims = {"iss": client_id, "sub": client_id, "aud": audience, "jti": secrets.token_urlsafe(24),
              "iat": now, "exp": now + lifetime}
    return jwt.encode(claims, key, algorithm=_algorithm(key), headers={"kid": key_id(key)})


def expected_nonce(secret: bytes, state_id: str) -> str:
    """The ``nonce`` for the sign-in whose state is ``state_id``: HMAC-SHA256 under the hub's secret.

    Derived, not stored: the callback recomputes it from the state cookie it has just checked, so an
    ID token made for another browser's sign-in (another state) never matches.
    """
    return hmac.new(secret, b"backstage-oidc-nonce:" + state_id.encode(), hashlib.sha256).hexdigest()


def vtr_param(vtr: list[str]) -> str:
    """The ``vtr`` request parameter: a JSON list, e.g. ``'["Cl.Cm"]'``."""
    return json.dumps(list(vtr), separators=(",", ":"))


def _credential(vector: str) -> str:
    """The credential part of a vector of trust: ``"P2.Cl.Cm"`` -> ``"Cl.Cm"``."""
    return ".".join(part for part in vector.split(".") if part.startswith("C"))


def check_vot(vot: object, vtr: list[str]) -> None:
    """Raise :class:`IDTokenRefused` unless ``vot`` is at least the weakest level ``vtr`` accepts."""
    wanted = min(CREDENTIAL_LEVELS.index(_credential(v)) for v in vtr)
    if not isinstance(vot, str) or _credential(vot) not in CREDENTIAL_LEVELS:
        raise IDTokenRefused(f"the provider did not say how you signed in (vot {vot!r}): this lab needs "
                             f"{CREDENTIAL_LEVELS[wanted]!r}")
    if CREDENTIAL_LEVELS.index(_credential(vot)) < wanted:
        raise IDTokenRefused(f"you signed in at level {vot!r} but this lab needs {CREDENTIAL_LEVELS[wanted]!r} "
                             "(a password and a second factor, such as a code by text message or an app)")


def check_id_token(id_token: str | None, *, jwks: dict, issuer: str, client_id: str, nonce: str, vtr: list[str],
                   algorithms: list[str], leeway: float = 30, now: float | None = None) -> dict:
    """The claims of ``id_token`` once every check passes; :class:`IDTokenRefused` otherwise.

    Checks: signed by a key of ``jwks`` with one of ``algorithms`` (never ``none``), ``iss`` is
    ``issuer``, ``aud`` holds ``client_id`` (and ``azp`` is us when there are several), ``exp`` not
    passed and ``iat`` not in the future (``leeway`` seconds of clock skew), ``nonce`` matches, a
    ``sub``, and ``vot`` meets ``vtr``.
    """
    if not id_token:
        raise IDTokenRefused("the provider sent no ID token")
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError as e:
        raise IDTokenRefused(f"the ID token is not a JWT ({e})") from None
    alg = header.get("alg")
    if alg not in algorithms or alg == "none":
        raise IDTokenRefused(f"the ID token is signed with {alg!r}, not one of {algorithms}")
    try:
        keys = jwt.PyJWKSet.from_dict(jwks).keys
    except jwt.PyJWTError as e:
        raise IDTokenRefused(f"the provider's keys (JWKS) cannot be read ({e})") from None
    candidates = [k for k in keys if header.get("kid") in (None, k.key_id)] or keys
    options = {"require": ["iss", "aud", "exp", "iat", "sub"], "verify_iat": True}
    claims = None
    for key in candidates:
        try:
            claims = jwt.decode(id_token, key.key, algorithms=[alg], audience=client_id, issuer=issuer,
                                leeway=leeway, options=options)
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.ExpiredSignatureError:
            raise IDTokenRefused("the ID token has expired") from None
        except jwt.InvalidAudienceError:
            raise IDTokenRefused(f"the ID token is for another service (aud is not {client_id!r})") from None
        except jwt.InvalidIssuerError:
            raise IDTokenRefused(f"the ID token was not issued by {issuer}") from None
        except jwt.ImmatureSignatureError:
            raise IDTokenRefused("the ID token is dated in the future (check the server's clock)") from None
        except jwt.PyJWTError as e:
            raise IDTokenRefused(f"the ID token is invalid ({e})") from None
    if claims is None:
        raise IDTokenRefused("the ID token's signature matches none of the provider's keys")
    if now is not None and claims["exp"] + leeway < now:
        raise IDTokenRefused("the ID token has expired")
    if isinstance(claims["aud"], list) and len(claims["aud"]) > 1 and claims.get("azp") != client_id:
        raise IDTokenRefused(f"the ID token names several audiences but was not issued to {client_id!r} (azp)")
    if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
        raise IDTokenRefused("the ID token's nonce does not match this sign-in (it was made for another one)")
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise IDTokenRefused("the ID token names nobody (no sub)")
    check_vot(claims.get("vot"), vtr)
    return claims
