"""A local certificate authority for ``--tls`` (design §5).

The emulator serves ``wss://`` and ``https://`` with a certificate from a throw-away CA (trustme),
so handler code that builds ``https://{domainName}/{stage}`` from its event reaches the @connections
API unchanged. The CA is exported through ``AWS_CA_BUNDLE`` as a bundle that also holds the usual
public roots, so other AWS calls in the same process still verify.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LocalCA", "create_local_ca"]


@dataclass(frozen=True)
class LocalCA:
    """A CA and a server certificate it issued.

    Attributes:
        ca_file: the CA certificate (PEM).
        bundle_file: the CA plus the public roots (PEM), for ``AWS_CA_BUNDLE``.
        server_context: serves the certificate.
    """

    ca_file: Path
    bundle_file: Path
    server_context: ssl.SSLContext

    def client_context(self) -> ssl.SSLContext:
        """An SSL context for clients that trusts the CA."""
        return ssl.create_default_context(cafile=str(self.ca_file))


def _public_roots() -> str:
    """The usual public roots (certifi's, which botocore uses, else the system's), or ""."""
    candidates = [ssl.get_default_verify_paths().cafile]
    try:
        import certifi

        candidates.insert(0, certifi.where())
    except ImportError:
        pass
    for path in filter(None, candidates):
        try:
            return Path(path).read_text(encoding="utf-8")
        except (OSError, ValueError):
            continue
    return ""


def create_local_ca(hosts: list[str], directory: Path) -> LocalCA:
    """Issue a server certificate for ``hosts`` (names or IPs) and write the CA files.

    Raises:
        ImportError: trustme is not installed (``pip install wschaos[tls]``).
    """
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert(*dict.fromkeys(hosts))
    ca_file = directory / "wschaos-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    bundle_file = directory / "wschaos-ca-bundle.pem"
    bundle_file.write_text(
        _public_roots() + "\n" + ca.cert_pem.bytes().decode("ascii"), encoding="utf-8"
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return LocalCA(ca_file, bundle_file, context)
