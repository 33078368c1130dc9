"""Throw-away TLS material for loopback test servers.

``make_test_pki(directory)`` creates a self-signed CA and a server certificate for
``127.0.0.1``, ``::1`` and ``localhost`` signed by it (EC P-256, so it takes a few
milliseconds), writes them as PEM files and returns their paths.  Clients trust the
CA via ``TestPKI.ca_pem_path`` (e.g. ``httpx.Client(verify=ssl_ctx)`` built from
``TestPKI.client_ssl_context()``, ``requests.get(..., verify=pki.ca_pem_path)``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["TestPKI", "make_test_pki"]


@dataclass(frozen=True)
class TestPKI:
    """Paths of the PEM files written by :func:`make_test_pki`."""

    __test__ = False  # not a pytest test class

    directory: Path
    ca_pem_path: Path
    ca_key_path: Path
    cert_pem_path: Path
    key_pem_path: Path

    @property
    def ca_pem(self) -> bytes:
        return self.ca_pem_path.read_bytes()

    def server_ssl_context(self) -> ssl.SSLContext:
        """An SSL context for a server presenting the 127.0.0.1/localhost certificate."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(certfile=str(self.cert_pem_path), keyfile=str(self.key_pem_path))
        return ctx

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client SSL context that trusts only the test CA."""
        return ssl.create_default_context(cafile=str(self.ca_pem_path))


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "agentrun-creds-plugin tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def make_test_pki(
    directory: Path | str | None = None,
    *,
    hostnames: tuple[str, ...] = ("localhost",),
    ip_addresses: tuple[str, ...] = ("127.0.0.1", "::1"),
    valid_days: int = 2,
) -> TestPKI:
    """Create a CA and a server certificate signed by it; write PEM files into ``directory``.

    ``directory`` defaults to a fresh temporary directory (not removed automatically;
    prefer passing pytest's ``tmp_path``/``tmp_path_factory`` directory).
    """
    out = Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="test-pki-"))
    out.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    not_before = now - dt.timedelta(minutes=5)
    not_after = now + dt.timedelta(days=valid_days)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("agentrun-creds-plugin test CA")
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(h) for h in hostnames]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hostnames[0] if hostnames else ip_addresses[0]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    pki = TestPKI(
        directory=out,
        ca_pem_path=out / "test-ca.pem",
        ca_key_path=out / "test-ca-key.pem",
        cert_pem_path=out / "server-cert.pem",
        key_pem_path=out / "server-key.pem",
    )
    pki.ca_pem_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_key(pki.ca_key_path, ca_key)
    pki.cert_pem_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(pki.key_pem_path, key)
    return pki
