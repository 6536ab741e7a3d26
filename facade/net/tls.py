"""TLS toward a backend origin: a client certificate, and the CAs its server is trusted by.

One SSLContext per origin, made once at startup and shared by its pool's connections:

    context = client_context(cert="client.pem", key="client.key", ca="legacy-ca.pem")
    transport = HttpTransport(tls={"https://erp.internal:443": context})
"""

from __future__ import annotations

import ssl


class TlsFilesError(ValueError):
    """A certificate, key or CA file that cannot be used, said without its content."""


def client_context(
    cert: str | None = None, key: str | None = None, ca: str | None = None
) -> ssl.SSLContext:
    """A verifying client context: the system's CAs unless `ca` names a bundle, plus the
    client certificate when `cert` and `key` are given. Hostnames are always checked."""
    try:
        context = ssl.create_default_context(cafile=ca)
    except (OSError, ssl.SSLError) as exc:
        raise TlsFilesError(f"the CA bundle {ca} cannot be loaded ({_reason(exc)})") from exc
    if cert is not None:
        try:
            context.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            raise TlsFilesError(
                f"the client certificate {cert} and key {key} cannot be loaded ({_reason(exc)})"
            ) from exc
    return context


def _reason(exc: OSError | ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason)
    return exc.strerror or type(exc).__name__
