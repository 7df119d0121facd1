# A real SMTP server for the alert tests (aiosmtpd, PyPI): every message it accepts is written
# to OUTDIR as one .eml file, headed by what the envelope and the session said (sender,
# recipients, whether the client logged in, whether the session was encrypted).
#
# python smtp_sink.py PORT OUTDIR MODE USER PASSWORD
#   MODE none:     plain SMTP; AUTH PLAIN/LOGIN offered and required when USER is not "-"
#   MODE starttls: STARTTLS required (a self-signed certificate for 127.0.0.1 is written to
#                  OUTDIR/../smtp-cert.pem first), then AUTH required
import datetime
import ipaddress
import os
import signal
import ssl
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, outdir, mode, user, password = sys.argv[1:6]
os.makedirs(outdir, exist_ok=True)


def self_signed(cert_path, key_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(key, hashes.SHA256())
    )
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(cert_path + ".tmp", "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    os.rename(cert_path + ".tmp", cert_path)


class Handler:
    async def handle_DATA(self, server, session, envelope):
        n = time.time_ns()
        tmp = os.path.join(outdir, f".{n}.tmp")
        head = (
            f"X-Sink-From: {envelope.mail_from}\r\n"
            f"X-Sink-To: {','.join(envelope.rcpt_tos)}\r\n"
            f"X-Sink-Auth: {bool(getattr(session, 'authenticated', False))}\r\n"
            f"X-Sink-TLS: {getattr(session, 'ssl', None) is not None}\r\n"
        )
        with open(tmp, "wb") as f:
            f.write(head.encode())
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(outdir, f"{n}.eml"))
        return "250 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword)
          and auth_data.login.decode() == user
          and auth_data.password.decode() == password)
    return AuthResult(success=ok, handled=False)


kwargs = {}
if user != "-":
    kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=(mode == "starttls"))
if mode == "starttls":
    parent = os.path.dirname(os.path.abspath(outdir))
    cert, key = os.path.join(parent, "smtp-cert.pem"), os.path.join(parent, "smtp-key.pem")
    self_signed(cert, key)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    kwargs.update(tls_context=ctx, require_starttls=True)

controller = Controller(Handler(), hostname="127.0.0.1", port=int(port), **kwargs)
controller.start()
done = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: done.set())
done.wait()
controller.stop()
