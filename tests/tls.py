"""A throw-away TLS certificate for HAProxy in tests, made with openssl; never a committed key."""
from __future__ import annotations

import subprocess
from pathlib import Path


def self_signed_certificate(directory: Path) -> Path:
    """`helpline.pem` (certificate and key in one file, as HAProxy wants them) for 127.0.0.1;
    the certificate alone is `certificate.pem` beside it, for clients to trust."""
    key, certificate = directory / "key.pem", directory / "certificate.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(certificate), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    bundle = directory / "helpline.pem"
    bundle.write_bytes(certificate.read_bytes() + key.read_bytes())
    return bundle
