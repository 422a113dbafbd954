"""trustflow benchmarks: each Lambda's cold start, latency, memory and size, side by side with a
Python + boto3 equivalent and a Rust hello-world floor, plus workflow cost figures.

Each function runs as a real process speaking the Lambda Runtime API to the small runtime API
server below (the same protocol the Lambda service and `cargo lambda watch` speak), and calls the
emulated AWS over HTTP. Measured per cold start:
  init      process start -> the runtime's first `GET /runtime/invocation/next` (ready for an event)
  first     first event delivered -> its response posted (cold caches, first TCP connection)
  warm      median of the following invocations
  peak RSS  VmHWM of the process after all invocations
A second pass (issue 18) measures init and first again with the emulated AWS behind TLS on loopback:
a throwaway CA and server certificate made at run time, a TLS-terminating proxy in front of the
emulator (`python bench/run_benchmarks.py tls-proxy ...`, started by this script), and both SDKs told
to trust the CA. The proxy counts handshakes; the run fails if a first invocation made none.
Run through bench/run_benchmarks.sh, which writes docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import http.server
import io
import json
import os
import platform
import queue
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from local_stack import LocalStack, Settings, free_port  # noqa: E402


class RuntimeApi:
    """A one-function Lambda Runtime API server that times what the function does."""

    def __init__(self) -> None:
        self.port = free_port()
        self.events: queue.Queue = queue.Queue()
        self.first_next: float | None = None
        self.delivered: dict[str, float] = {}
        self.results: queue.Queue = queue.Queue()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Without TCP_NODELAY the event's headers and body leave in two packets and the second
            # waits ~40 ms for a delayed ACK: a harness artifact, not the function's latency.
            disable_nagle_algorithm = True

            def log_message(self, *_):
                pass

            def do_GET(self):
                if self.path.endswith("/runtime/invocation/next"):
                    if api.first_next is None:
                        api.first_next = time.perf_counter()
                    body = api.events.get()
                    request_id = str(uuid.uuid4())
                    data = json.dumps(body).encode()
                    self.send_response(200)
                    self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                    self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
                    self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
                    self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    api.delivered[request_id] = time.perf_counter()
                    self.wfile.write(data)
                    self.wfile.flush()

            def do_POST(self):
                # Timed when the result's headers arrive: the function has finished its work then.
                now = time.perf_counter()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                parts = self.path.split("/")
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if "invocation" in parts:
                    request_id, outcome = parts[-2], parts[-1]
                    api.results.put((outcome, now - api.delivered.get(request_id, now), body))
                else:  # init error
                    api.results.put(("init-error", 0.0, body))

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def cold_start(command: list[str], env: dict[str, str], events: list[dict], after_first: Callable[[], None] | None = None) -> dict:
    api = RuntimeApi()
    full_env = dict(os.environ, **env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{api.port}", AWS_LAMBDA_FUNCTION_NAME="bench",
                    AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
                    AWS_LAMBDA_LOG_STREAM_NAME="bench", AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/bench")
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    latencies = []
    try:
        for event in events:
            api.events.put(event)
            try:
                outcome, seconds, body = api.results.get(timeout=60)
            except queue.Empty:
                proc.terminate()
                raise RuntimeError(f"{command}: no answer; stderr: {proc.stderr.read()[-2000:]!r}") from None
            if outcome != "response":
                raise RuntimeError(f"{command[-1]}: {outcome}: {body[:300]!r}")
            answer = json.loads(body or b"null")
            if isinstance(answer, dict) and answer.get("statusCode", 200) != 200:  # an API answer must be a success too
                raise RuntimeError(f"{command[-1]}: HTTP {answer['statusCode']}: {body[:300]!r}")
            latencies.append(seconds * 1000)
            if after_first is not None and len(latencies) == 1:
                after_first()
        init_ms = (api.first_next - started) * 1000
        rss = peak_rss_kib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        api.close()
    return {"init": init_ms, "first": latencies[0], "warm": statistics.median(latencies[1:]), "rss_kib": rss}


def summarize(runs: list[dict]) -> dict:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def zip_size(path: Path) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(path, "bootstrap")
    return len(buffer.getvalue())


# --- The TLS pass ---------------------------------------------------------------------------------
# The emulator (tests/aws_emulator, started by tests/e2e/local_stack.py) serves plain HTTP and is shared
# with the test suites, so rather than give it a TLS mode the benchmark puts a small TLS-terminating proxy
# in front of it: a separate process (no GIL shared with the Runtime API server that does the timing),
# asyncio, offering no ALPN, so both SDKs speak HTTP/1.1 over it, as they do to the plain endpoint.
# The emulator (werkzeug) answers every request with `Connection: close`; relayed as is, that would make
# every call of an invocation a new TLS handshake, where AWS keeps the connection open. So the proxy
# keeps the client's connection open: it reads each request (Content-Length framed, as both SDKs send
# these APIs), sends it to the emulator on a fresh TCP connection, as the plain pass does, and returns
# the answer without the `Connection: close`. The same proxy also listens without TLS (the "relay"
# port), so the cost of the extra hop can be told apart from the cost of TLS.

SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")  # Debian/Ubuntu; one file, as on provided.al2023


def make_certificates(directory: Path) -> dict[str, Path]:
    """A throwaway CA and a server certificate it signs, for 127.0.0.1 and localhost, valid for a day.
    RSA 2048 for both, as AWS's service endpoints use. Returns the PEM files' paths (ca, cert, key)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "trustflow benchmark throwaway CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = {"ca": directory / "ca.pem", "cert": directory / "server.pem", "key": directory / "server.key"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return paths


def serve_tls_proxy(argv: list[str]) -> None:
    """`run_benchmarks.py tls-proxy`: TLS on one loopback port, plain on another, both relayed to the
    emulator. Prints `ready <tls port> <relay port>`, then `handshake <version>` for every completed TLS handshake."""
    import asyncio
    import ssl

    parser = argparse.ArgumentParser(prog="run_benchmarks.py tls-proxy")
    parser.add_argument("--upstream-port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args(argv)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)

    def headers(head: bytes) -> dict[str, str]:
        fields = (line.split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line)
        return {name.strip().lower().decode(): value.strip().decode() for name, value in fields}

    async def exchange(request: bytes) -> bytes:
        """One request to the emulator on a connection of its own; the answer re-framed for keep-alive."""
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", args.upstream_port)
        try:
            up_writer.write(request)
            await up_writer.drain()
            head = await up_reader.readuntil(b"\r\n\r\n")
            fields = headers(head)
            if "content-length" in fields:
                body = await up_reader.readexactly(int(fields["content-length"]))
            else:  # delimited by the close (or chunked, passed through as it is)
                body = await up_reader.read()
        finally:
            up_writer.close()
        lines = [line for line in head[:-4].split(b"\r\n") if not line.lower().startswith(b"connection:")]
        if "content-length" not in fields and "transfer-encoding" not in fields:
            lines.append(b"Content-Length: %d" % len(body))
        return b"\r\n".join(lines) + b"\r\n\r\n" + body

    def handler(tls: bool):
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if tls:  # asyncio calls this only once the handshake has completed
                print(f"handshake {writer.get_extra_info('ssl_object').version()}", flush=True)
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    fields = headers(head)
                    if "transfer-encoding" in fields or "expect" in fields:
                        raise SystemExit(f"tls-proxy: a request this proxy does not frame: {head!r}")  # loudly
                    body = await reader.readexactly(int(fields.get("content-length", "0")))
                    writer.write(await exchange(head + body))
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
                pass  # the client closed its connection
            finally:
                writer.close()
        return handle

    async def serve() -> None:
        tls_server = await asyncio.start_server(handler(True), "127.0.0.1", 0, ssl=context)
        relay_server = await asyncio.start_server(handler(False), "127.0.0.1", 0)
        print(f"ready {tls_server.sockets[0].getsockname()[1]} {relay_server.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.gather(tls_server.serve_forever(), relay_server.serve_forever())

    asyncio.run(serve())


class TlsProxy:
    """The tls-proxy process, and the count of TLS handshakes it has completed."""

    def __init__(self, upstream_port: int, certificates: dict[str, Path], log: Path) -> None:
        self.log = log
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "tls-proxy", "--upstream-port", str(upstream_port),
                                      "--cert", str(certificates["cert"]), "--key", str(certificates["key"])],
                                     stdout=subprocess.PIPE, stderr=open(log, "w"), text=True)
        ready = self.proc.stdout.readline().split()
        if not ready or ready[0] != "ready":
            self.close()
            raise RuntimeError(f"the TLS proxy did not start: {log.read_text()[-2000:]}")
        self.tls_port, self.relay_port = int(ready[1]), int(ready[2])
        self.handshakes = 0
        self.versions: set[str] = set()
        self._changed = threading.Condition()
        threading.Thread(target=self._count, daemon=True).start()

    def _count(self) -> None:
        for line in self.proc.stdout:
            words = line.split()
            if words[:1] == ["handshake"]:
                with self._changed:
                    self.handshakes += 1
                    self.versions.update(words[1:])
                    self._changed.notify_all()

    def wait_beyond(self, count: int, timeout: float = 5.0) -> bool:
        """Whether more than `count` handshakes have completed (waiting up to `timeout` for the line)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.handshakes > count, timeout)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def tls_cold_start(proxy: TlsProxy, command: list[str], env: dict[str, str], events: list[dict]) -> dict:
    """A cold start against the TLS endpoint that fails unless its first invocation made a TLS handshake."""
    before = proxy.handshakes

    def handshook() -> None:
        if not proxy.wait_beyond(before):
            raise RuntimeError(f"{command[-1]}: the first invocation against {env['AWS_ENDPOINT_URL']} made no TLS handshake "
                               "with the proxy; refusing a TLS figure that may not be one")

    result = cold_start(command, env, events, after_first=handshook)
    result["handshakes"] = proxy.handshakes - before
    return result


def refused_without_ca(command: list[str], env: dict[str, str], event: dict) -> str:
    """Runs one invocation against the TLS endpoint with the throwaway CA left out of the trust store and
    returns why it failed; raises if it succeeded (the SDK would then not be checking the certificate)."""
    try:
        cold_start(command, env, [event, event])
    except RuntimeError as error:
        return str(error)
    raise RuntimeError(f"{command[-1]}: answered over TLS without trusting the benchmark CA; the TLS figures would not "
                       "be what the SDKs do")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold-starts", type=int, default=10)
    parser.add_argument("--invocations", type=int, default=21)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--build-seconds", type=float, default=None, help="clean release build time, measured by the caller")
    args = parser.parse_args()

    release = ROOT / "target" / "release"
    with LocalStack(Settings(state_seconds=0.2)) as stack:
        directory_id = stack.seed_directory("aws.example.com")
        stack.put_secret("trustflow/bench", "Bench-Trust-Passw0rd!")
        ds = stack.client("ds")
        verified = ds.create_trust(DirectoryId=directory_id, RemoteDomainName="verified.bench.example", TrustPassword="x!",
                                   TrustDirection="Two-Way", ConditionalForwarderIpAddrs=["10.1.1.1"])["TrustId"]
        time.sleep(1.0)
        assert ds.describe_trusts(DirectoryId=directory_id, TrustIds=[verified])["Trusts"][0]["TrustState"] == "Verified"

        def request(domain):
            return {"requestId": "BENCH-1", "directoryId": directory_id, "remoteDomainName": domain, "trustType": "Forest",
                    "trustDirection": "Two-Way", "conditionalForwarderIpAddrs": ["172.16.10.153"], "selectiveAuth": "Disabled",
                    "trustPassword": {"secretId": "trustflow/bench"}, "onExistingTrust": "keep"}

        def plan(domain, trust_id=None):
            body = {"request": request(domain), "action": "Create", "deadline": "2099-01-01T00:00:00Z",
                    "directory": {"directoryId": directory_id, "name": "aws.example.com", "directoryType": "MicrosoftAD",
                                  "stage": "Active", "dnsIpAddrs": []}}
            if trust_id:
                body["trustId"] = trust_id
            return body

        # An execution for request-status to read: one real run through the workflow.
        status_run = stack.run(dict(request("status.bench.example"), requestId="BENCH-STATUS"), name="trust-BENCH-STATUS", timeout=300)
        assert status_run.status == "SUCCEEDED", status_run.status
        get_status = {"resource": "/trust-requests/{id}", "path": "/trust-requests/BENCH-STATUS", "httpMethod": "GET",
                      "headers": {"Accept": "application/json"}, "multiValueHeaders": {"Accept": ["application/json"]},
                      "queryStringParameters": None, "pathParameters": {"id": "BENCH-STATUS"}, "stageVariables": None,
                      "requestContext": {"accountId": "123456789012", "resourcePath": "/trust-requests/{id}", "stage": "v1",
                                         "requestId": "bench", "httpMethod": "GET", "apiId": "bench",
                                         "identity": {"sourceIp": "127.0.0.1"}},
                      "body": None, "isBase64Encoded": False}

        counter = iter(range(10**9))
        event_sets = {
            "validate-request": lambda: [request("new.bench.example")] * args.invocations,
            "create-trust": lambda: [{"plan": plan(f"c{next(counter)}.bench.example")} for _ in range(args.invocations)],
            "check-trust": lambda: [{"mode": "poll", "plan": plan("verified.bench.example", verified)}] * args.invocations,
            "notify-requester": lambda: [{"plan": plan("verified.bench.example", verified),
                                          "status": {"outcome": "verified", "trustId": verified, "trustState": "Verified",
                                                     "trustStateReason": "", "checkedAt": "2026-11-25T00:00:00Z"}}] * args.invocations,
            "request-status": lambda: [get_status] * args.invocations,
        }
        python_handlers = {"validate-request": "handlers.validate", "create-trust": "handlers.create", "check-trust": "handlers.check",
                           "notify-requester": "handlers.notify", "request-status": "status_handler.status"}
        env = {"AWS_ENDPOINT_URL": stack.endpoint, "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "NOTIFICATION_TOPIC_ARN": stack.topic_arn,
               "RESULT_EVENT_BUS": stack.bus_name, "STATE_MACHINE_ARN": stack.state_machine_arn, "RUST_LOG": "warn", "AWS_LAMBDA_LOG_LEVEL": "WARN",
               "PYTHONPATH": str(ROOT / "bench" / "python_baseline")}
        rows = []
        floor = summarize([cold_start([str(release / "hello-lambda")], env, [{"hello": "world"}] * args.invocations)
                           for _ in range(args.cold_starts)])
        print(f"hello-lambda: {floor}", flush=True)
        # This Debian machine keeps its CA certificates as ~290 files in /etc/ssl/certs, which rustls-native-certs
        # reads at client construction (~2 ms more than one bundle file). provided.al2023 has one bundle file.
        bundle_env = dict(env, SSL_CERT_FILE=str(SYSTEM_CA_BUNDLE), SSL_CERT_DIR="/nonexistent")

        # The TLS pass: the emulator behind the TLS proxy, https://127.0.0.1:<port> in AWS_ENDPOINT_URL exactly as
        # the plain pass gives http://. Both SDKs trust one file, the system bundle plus the throwaway CA: the Rust
        # functions through SSL_CERT_FILE (aws-smithy-http-client takes its roots from rustls-native-certs, which
        # reads that file instead of the platform store), so their init compares with the one-bundle column;
        # boto3 through AWS_CA_BUNDLE. Everything else is the one-bundle environment.
        tls_dir = Path(tempfile.mkdtemp(prefix="trustflow-bench-tls-"))
        certificates = make_certificates(tls_dir)
        trust_bundle = tls_dir / "trust-bundle.pem"
        trust_bundle.write_bytes((SYSTEM_CA_BUNDLE.read_bytes() if SYSTEM_CA_BUNDLE.exists() else b"") + certificates["ca"].read_bytes())
        proxy = TlsProxy(stack.aws_port, certificates, stack.log_dir / "tls-proxy.log")
        tls = {"bundle_certs": trust_bundle.read_text().count("BEGIN CERTIFICATE"), "cold_starts": 0}
        try:
            tls_env = dict(bundle_env, AWS_ENDPOINT_URL=f"https://127.0.0.1:{proxy.tls_port}", SSL_CERT_FILE=str(trust_bundle),
                           AWS_CA_BUNDLE=str(trust_bundle))
            relay_env = dict(tls_env, AWS_ENDPOINT_URL=f"http://127.0.0.1:{proxy.relay_port}")  # the proxy's hop, no TLS
            # First, that the trust really comes from the throwaway CA: without it, both SDKs must refuse the endpoint.
            untrusting = dict(tls_env, SSL_CERT_FILE=str(SYSTEM_CA_BUNDLE), AWS_CA_BUNDLE=str(SYSTEM_CA_BUNDLE), AWS_MAX_ATTEMPTS="1")
            before = proxy.handshakes
            tls["refusals"] = {
                "rust": refused_without_ca([str(release / "check-trust")], untrusting, event_sets["check-trust"]()[0]),
                "python": refused_without_ca([sys.executable, str(ROOT / "bench" / "python_baseline" / "bootstrap.py"), python_handlers["check-trust"]],
                                             untrusting, event_sets["check-trust"]()[0]),
            }
            if proxy.handshakes != before:
                raise RuntimeError("a client that does not trust the benchmark CA completed a TLS handshake")
            print(f"without the CA: {tls['refusals']}", flush=True)
            handshakes_before = proxy.handshakes

            for name, events in event_sets.items():
                rust_cmd = [str(release / name)]
                python_cmd = [sys.executable, str(ROOT / "bench" / "python_baseline" / "bootstrap.py"), python_handlers[name]]
                rust = summarize([cold_start(rust_cmd, env, events()) for _ in range(args.cold_starts)])
                one_bundle = summarize([cold_start(rust_cmd, bundle_env, events()[:2]) for _ in range(args.cold_starts)])
                rust.update(init_bundle=one_bundle["init"], first_bundle=one_bundle["first"])
                python = summarize([cold_start(python_cmd, env, events()) for _ in range(args.cold_starts)])
                for figures, command in ((rust, rust_cmd), (python, python_cmd)):
                    over_tls = summarize([tls_cold_start(proxy, command, tls_env, events()[:2]) for _ in range(args.cold_starts)])
                    relayed = summarize([cold_start(command, relay_env, events()[:2]) for _ in range(args.cold_starts)])
                    figures.update(init_tls=over_tls["init"], first_tls=over_tls["first"], first_relay=relayed["first"],
                                   handshakes_tls=over_tls["handshakes"])
                    tls["cold_starts"] += args.cold_starts
                binary = release / name
                rows.append((name, rust, python, binary.stat().st_size, zip_size(binary)))
                print(f"{name}: rust {rust} python {python}", flush=True)
            tls["handshakes"] = proxy.handshakes - handshakes_before
            tls["versions"] = sorted(proxy.versions)
        finally:
            proxy.close()

        workflow = measure_workflow(stack, directory_id)
    workflow["callback"] = measure_callback()
    write_report(args, floor, rows, zip_size(release / "hello-lambda"), (release / "hello-lambda").stat().st_size, workflow, tls)


CALLBACK_RUNS = 5


def precise_time(text: str) -> datetime.datetime:
    """An RFC 3339 time with up to nanoseconds (the signal's), to the microsecond Python keeps."""
    whole, _, fraction = text.rstrip("Z").partition(".")
    return datetime.datetime.fromisoformat(f"{whole}.{(fraction or '0')[:6].ljust(6, '0')}+00:00")


def measure_callback() -> dict:
    """'The remote side is ready' with the deployed re-verification interval (300 s), so that only the
    signal can explain a verdict within seconds: one emulated verification takes one unit (1 s).
    trustflow's own time is the signal to VerifyTrust (VerifyNow's Task done) plus the verdict being
    available (one unit later) to the NotifyOutcome Task; the rest is the emulated AWS verifying."""
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    settings = Settings(reverify_interval_seconds=300, remote_side_window_seconds=3600, execution_timeout_seconds=7200,
                        poll_interval_seconds=1, max_poll_interval_seconds=2, state_seconds=1.0)
    own, total, runs = [], [], []
    with LocalStack(settings, stack_name="bench-callback") as stack:
        directory_id = stack.seed_directory("aws.example.com")
        stack.put_secret("trustflow/bench", "Bench-Password-1!")
        for n in range(CALLBACK_RUNS):
            domain = f"ready{n}.bench.example"
            stack.set_scenario(domain, "remote-late", remoteReadyAfterUnits=100000)
            body = {"requestId": f"CB-{n}", "directoryId": directory_id, "remoteDomainName": domain, "trustDirection": "Two-Way",
                    "conditionalForwarderIpAddrs": ["172.16.10.153"], "trustPassword": {"secretId": "trustflow/bench"}}
            status, text = stack.api_call("POST", "/trust-requests", body)
            assert status == 202, text
            arn = json.loads(text)["executionArn"]
            sfn = stack.client("stepfunctions")
            deadline = time.time() + 120
            while time.time() < deadline:
                history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
                entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
                if entered and entered[-1] == "AwaitRemoteSide" and history[-1]["type"] == "TaskSubmitted":
                    break
                time.sleep(0.2)
            else:
                raise RuntimeError(f"{arn} never waited for the remote side")
            # Let the waiting Task's own verification (asked for as it started) end, as it would on AWS
            # long before an administrator finishes: the measured path is then the common one.
            time.sleep(2 * settings.state_seconds)
            stack.control("remote-side-configured", {"remoteDomainName": domain})
            status, text = stack.api_call("POST", f"/trust-requests/CB-{n}/remote-side-ready")
            assert status == 202, text
            run = stack.follow(arn, timeout=120)
            assert run.status == "SUCCEEDED", run.states_entered()
            failed = next(e for e in run.history if e["type"] == "TaskFailed" and e["taskFailedEventDetails"].get("error") == "RemoteSideReady")
            signalled = precise_time(json.loads(failed["taskFailedEventDetails"]["cause"])["signalledAt"])
            asked = next(e["timestamp"] for e in run.history if e["type"] == "TaskSucceeded" and _state_of(run.history, e) == "VerifyNow")
            notified = next(e["timestamp"] for e in run.history if e["type"] == "TaskScheduled" and _state_of(run.history, e) == "NotifyOutcome")
            own.append((asked - signalled).total_seconds() + (notified - asked).total_seconds() - settings.state_seconds)
            total.append((notified - signalled).total_seconds())
            after = run.history[run.history.index(failed):]
            task_states = sum(1 for e in after if e["type"] == "TaskStateEntered")
            scheduled = sum(1 for e in after if e["type"] == "TaskScheduled")
            entered_after = sum(1 for e in after if "stateEnteredEventDetails" in e)
            runs.append({"transitions": entered_after + scheduled - task_states, "invocations": scheduled,
                         "waits": sum(1 for e in run.history if e["type"] == "TaskScheduled" and _state_of(run.history, e) == "AwaitRemoteSide")})
    return {"own_seconds": statistics.median(own), "own_max": max(own), "total_seconds": statistics.median(total), "runs": runs,
            "unit": settings.state_seconds}


def measure_workflow(stack: LocalStack, directory_id: str) -> dict:
    """Transitions and invocations of real runs through the local stack (time scaled down)."""
    figures = {}
    for scenario, domain in (("verifies", "happy.bench.example"), ("remote-late", "late.bench.example")):
        stack.set_scenario(domain, scenario, remoteReadyAfterUnits=25)
        body = {"requestId": f"B-{scenario}", "directoryId": directory_id, "remoteDomainName": domain,
                "trustDirection": "Two-Way", "conditionalForwarderIpAddrs": ["172.16.10.153"], "trustPassword": {"secretId": "trustflow/bench"}}
        run = stack.run(body, timeout=300)
        if scenario == "verifies":
            # The emulated trust turns Verified 3 units (0.6 s) after CreateTrust returns.
            created = next(e["timestamp"] for e in run.history if e["type"] == "TaskSucceeded" and e["previousEventId"] and
                           any(h["id"] == e["previousEventId"] and h["type"] == "TaskStarted" for h in run.history) and
                           _state_of(run.history, e) == "CreateTrust")
            notified = next(e["timestamp"] for e in run.history if e["type"] == "TaskScheduled" and _state_of(run.history, e) == "NotifyOutcome")
            figures["detection_seconds"] = (notified - created).total_seconds() - 3 * stack.settings.state_seconds
        entered = run.states_entered()
        scheduled = run.count("TaskScheduled")
        task_states = sum(1 for e in run.history if e["type"] == "TaskStateEntered")
        figures[scenario] = {"status": run.status, "states": len(entered), "retries": scheduled - task_states,
                             "transitions": len(entered) + scheduled - task_states, "invocations": scheduled,
                             "reverify_attempts": sum(1 for e in run.history if e["type"] == "TaskScheduled") - task_states,
                             "history_events": len(run.history)}
    return figures


def _state_of(history: list[dict], event: dict) -> str:
    """The state an event belongs to: the last state entered before it."""
    name = ""
    for e in history:
        if "stateEnteredEventDetails" in e:
            name = e["stateEnteredEventDetails"]["name"]
        if e is event:
            return name
    return name


STEP_FUNCTIONS_PER_TRANSITION = 0.025 / 1000
LAMBDA_ARM_PER_GB_SECOND = 0.0000133334
LAMBDA_PER_REQUEST = 0.20 / 1_000_000


def cost(transitions: int, invocations: int, ms_per_invocation: float) -> float:
    return (transitions * STEP_FUNCTIONS_PER_TRANSITION + invocations * LAMBDA_PER_REQUEST
            + invocations * (ms_per_invocation / 1000) * 0.128 * LAMBDA_ARM_PER_GB_SECOND)


def callback_lines(callback: dict) -> list[str]:
    runs = callback["runs"]
    transitions = statistics.median(r["transitions"] for r in runs)
    invocations = statistics.median(r["invocations"] for r in runs)
    return [
        f"{len(runs)} requests through a local stack deployed with the template's re-verification interval (300 s), each",
        "reported ready (POST /trust-requests/{id}/remote-side-ready) once its trust waited for the remote side; one emulated",
        f"verification takes {callback['unit']:.0f} s. Every one was verified through VerifyNow/FollowVerification with the",
        f"waiting Task scheduled {max(r['waits'] for r in runs)} time(s), i.e. before its first 300 s timeout.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| trustflow's own time, signal to VerifyTrust plus verdict to NotifyOutcome (median, max) | {callback['own_seconds']:.2f} s, {callback['own_max']:.2f} s |",
        f"| signal to NotifyOutcome, the emulated verification included (median) | {callback['total_seconds']:.2f} s |",
        f"| state transitions from the signal to the end of the run (median) | {transitions:g} |",
        f"| Lambda invocations from the signal to the end of the run (median) | {invocations:g} |",
        "",
        "The Retry constants that set it are the ASL's own, not parameters: FollowVerification looks 1, 1.5, 2.25, ... at",
        "most 5 s apart, so on AWS the wait after a verification ends is at most 5 s plus one invocation, whatever",
        "ReverifyIntervalSeconds is. What the callback design costs against the Retry loop it replaced: nothing while nobody",
        "signals (a re-verification is still one Task attempt, now ended by the Task's timeout instead of an error: one",
        "transition, one invocation). A verdict reached by the schedule ends with 5 transitions and 2 invocations (the",
        "attempt, RouteAfterReverify, NotifyOutcome, Finish, the end state); reached through a signal, with the figures above",
        f"(VerifyNow, FollowVerification and its looks, RouteAfterVerification, then the same end): {transitions - 5:g} transitions and",
        f"{invocations - 2:g} invocations more per signal, about ${cost(int(transitions - 5), int(invocations - 2), 20):.6f} at the prices below. It saves, on average, half a",
        "re-verification interval (150 s with the defaults) of waiting after the remote side is fixed.",
    ]


def write_report(args, floor, rows, hello_zip, hello_size, workflow, tls) -> None:
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("model name")), platform.machine())
    lines = [
        "# Benchmarks",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {cpu}, {os.cpu_count()} cores, {platform.machine()}, Linux {platform.release()},",
        f"Python {platform.python_version()}; release build (opt-level s, fat LTO, codegen-units 1, strip, panic=abort).",
        "Command: `bench/run_benchmarks.sh` (builds, then `python bench/run_benchmarks.py`). Emulated AWS on loopback, over",
        "plain HTTP and, for the TLS columns of init and first invocation, behind TLS (see below the per-function table).",
        "",
        f"Each figure is the median of {args.cold_starts} cold starts; warm = median of {args.invocations - 1} warm invocations per cold start.",
        "Init = process start to the runtime's first `GET /runtime/invocation/next`, under the Lambda Runtime API server in",
        "`bench/run_benchmarks.py`. The Python baseline (`bench/python_baseline/handlers.py`, boto3, clients built at import)",
        "runs under a minimal Runtime API loop (`bench/python_baseline/bootstrap.py`; awslambdaric hung against this harness); its size is the handler file only (boto3 comes with",
        "the managed runtime).",
        "",
        "## Per function",
        "",
        "| function | init ms | init vs hello | init ms, one CA bundle | vs hello | init ms, TLS | Python init ms | Python init ms, TLS | Python / Rust init | first ms | first ms, TLS | Python first ms | Python first ms, TLS | warm ms | Python warm ms | peak RSS MB | Python RSS MB | binary MB | zip MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        f"| hello-lambda (floor) | {floor['init']:.1f} | 1.0x | - | - | - | - | - | - | {floor['first']:.2f} | - | - | - | {floor['warm']:.2f} | - | {floor['rss_kib']/1024:.1f} | - | {hello_size/1e6:.2f} | {hello_zip/1e6:.2f} |",
    ]
    for name, rust, python, size, zsize in rows:
        lines.append(
            f"| {name} | {rust['init']:.1f} | {rust['init']/floor['init']:.1f}x | {rust['init_bundle']:.1f} | {rust['init_bundle']/floor['init']:.1f}x | {rust['init_tls']:.1f} | "
            f"{python['init']:.1f} | {python['init_tls']:.1f} | {python['init']/rust['init']:.0f}x | "
            f"{rust['first']:.2f} | {rust['first_tls']:.2f} | {python['first']:.2f} | {python['first_tls']:.2f} | "
            f"{rust['warm']:.2f} | {python['warm']:.2f} | {rust['rss_kib']/1024:.1f} | {python['rss_kib']/1024:.1f} | "
            f"{size/1e6:.2f} | {zsize/1e6:.2f} |")

    def spread(values, digits: int = 1) -> str:
        low, high = f"{min(values):.{digits}f}", f"{max(values):.{digits}f}"
        return low if low == high else f"{low}-{high}"

    rust_added = [r[1]["first_tls"] - r[1]["first_relay"] for r in rows]
    python_added = [r[2]["first_tls"] - r[2]["first_relay"] for r in rows]
    lines += [
        "",
        "TLS columns (issue 18): init and first invocation again, with the emulated AWS behind TLS on loopback, so the first",
        "call's handshake is in both the Rust and the Python figures. At run time the script makes a throwaway CA and an",
        "RSA-2048 server certificate for 127.0.0.1/localhost (`cryptography`), and puts a TLS-terminating proxy in front of",
        "the emulator (asyncio, in a process of its own, no ALPN, so HTTP/1.1 as in the plain pass). `AWS_ENDPOINT_URL` is",
        "`https://127.0.0.1:<port>` where the plain pass has `http://`. Both SDKs trust one file, the system bundle plus",
        f"the CA ({tls['bundle_certs']} certificates): the Rust functions through `SSL_CERT_FILE` (aws-smithy-http-client takes its",
        "roots from rustls-native-certs 0.8, which then reads that file instead of the platform store), boto3 through",
        "`AWS_CA_BUNDLE`. The rest of the environment is the one-bundle column's, so Rust's TLS init compares with that",
        f"column. The proxy counted {tls['handshakes']} completed handshakes ({', '.join(tls['versions'])}) over {tls['cold_starts']} cold starts, and the run",
        "fails if any first invocation made none; with the CA left out of the trust file both SDKs refused the endpoint",
        "(checked on every run). Handshakes per cold start (median): Rust "
        f"{spread([r[1]['handshakes_tls'] for r in rows], 0)}, Python {spread([r[2]['handshakes_tls'] for r in rows], 0)} (botocore opens a connection per client; the Rust",
        "clients share one pool, and every service has the same endpoint here, where on AWS each has its own host).",
        f"Against the same proxy without TLS (same hop, same kept-alive connections), TLS adds {spread(rust_added)} ms to Rust's first",
        f"invocation and {spread(python_added)} ms to Python's: the handshake(s), plus each SDK's one-time TLS set-up (for Python,",
        "loading the CA bundle at its first HTTPS connection). The plain columns go straight to the emulator, which closes",
        "every connection after its answer, so they are not the proxy-relayed figures; both are printed by the run.",
    ]
    ratios = [r[1]["init"] / floor["init"] for r in rows]
    bundle_ratios = [r[1]["init_bundle"] / floor["init"] for r in rows]
    lines += [
        "",
        "Targets (issue 6): init within 2x of the floor, at least 20x faster than boto3, peak RSS under 16 MB, stripped",
        f"binary under 8 MB. RSS, binary size and the boto3 ratio are met by a wide margin. Init is {min(ratios):.1f}-{max(ratios):.1f}x the floor with",
        f"this machine's certificate layout and {min(bundle_ratios):.1f}-{max(bundle_ratios):.1f}x with a single CA bundle file, the layout of `provided.al2023`.",
        "request-status (the API's GET, not in the workflow) builds a Step Functions client; its warm figure is mostly",
        "the emulator answering DescribeExecution and a whole GetExecutionHistory, the same two calls its Python twin makes.",
        "",
        "What was tried for init, measured with timers around each step of `main` (check-trust, 5 runs each):",
        "- `aws_config::load_defaults` took ~3 ms of a ~7 ms init. Building the `SdkConfig` straight from the variables",
        "  Lambda always sets (`AWS_REGION`, the role's credentials, optional `AWS_ENDPOINT_URL`) brings config to 0.06 ms,",
        "  but the cost moved to the first service client's construction: it is the loading of the CA roots, not the",
        "  credential or profile chain. Kept (saves ~1 ms: no profile-file reads), with the default chain as fallback.",
        "- CA roots: `rustls-native-certs` reads `/etc/ssl/certs`; here that is ~290 files and costs ~3.3 ms. With",
        "  `SSL_CERT_FILE` on the single bundle (144 certificates, as on provided.al2023) it is ~1.0 ms; with no roots",
        "  ~0.5 ms. That is the column 'one CA bundle'. Compiling the roots in (webpki-roots) would remove the file read",
        "  but not the parse, and would freeze the trust store into the binary: not done.",
        "- One shared HTTP client for SNS and EventBridge in notify-requester: no measurable gain, reverted.",
        "- Already in place: current-thread Tokio runtime, clients built once in `main`, SDK crates without default",
        "  features, opt-level s + fat LTO + panic=abort. What stands in the way of 2x everywhere is ~1 ms per SDK",
        "  client (runtime plugins, endpoint resolver, TLS roots) on top of a 2 ms floor; notify-requester builds two.",
    ]
    happy, late = workflow["verifies"], workflow["remote-late"]
    avg_ms = statistics.mean(r[1]["warm"] for r in rows)
    lines += [
        "",
        "## Per workflow run",
        "",
        "Measured through the local stack (real ASL in moto's interpreter, real binaries), time scaled down:",
        "",
        "| run | status | states entered | Task retries (polls) | state transitions | Lambda invocations | history events |",
        "|---|---|---|---|---|---|---|",
        f"| happy path (verifies) | {happy['status']} | {happy['states']} | {happy['retries']} | {happy['transitions']} | {happy['invocations']} | {happy['history_events']} |",
        f"| remote side late (awaiting, re-verified) | {late['status']} | {late['states']} | {late['retries']} | {late['transitions']} | {late['invocations']} | {late['history_events']} |",
        "",
        "A poll or a re-verification costs one state transition (a Retry of the same Task), not the three of a",
        "Wait -> Task -> Choice loop. With the template defaults (ReverifyIntervalSeconds 300), a one-hour wait for the",
        "remote side adds 3600 / 300 = 12 re-verifications, so 12 transitions and 12 invocations.",
        "",
        "Estimated cost at public prices (Step Functions Standard $0.025 per 1,000 transitions; Lambda arm64",
        f"$0.20 per 1M requests and $0.0000133334 per GB-s at 128 MB, {avg_ms:.1f} ms per invocation as measured warm here):",
        "",
        "| run | transitions | invocations | cost per run |",
        "|---|---|---|---|",
        f"| happy path | {happy['transitions']} | {happy['invocations']} | ${cost(happy['transitions'], happy['invocations'], avg_ms):.6f} |",
        f"| with a one-hour remote-side wait | {happy['transitions'] + 2 + 12} | {happy['invocations'] + 1 + 12} | ${cost(happy['transitions'] + 14, happy['invocations'] + 13, avg_ms):.6f} |",
        "",
        "(The one-hour row adds NotifyAwaitingRemoteSide and AwaitRemoteSide's first attempt plus 12 re-verifications.)",
        "",
        "## Remote side ready (the callback)",
        "",
        *callback_lines(workflow["callback"]),
        "",
        "## Detection latency",
        "",
        f"From the emulated trust turning Verified to the NotifyOutcome task: {workflow['detection_seconds']:.2f} s with the local",
        "poll settings (PollIntervalSeconds 1, MaxPollIntervalSeconds 2). It is bounded by the poll interval in force when the",
        "trust settles: at most MaxPollIntervalSeconds (120 s by default) plus one Lambda invocation; lower it for faster",
        "answers at the cost of more transitions.",
    ]
    if args.build_seconds:
        lines += ["", "## Build", "", f"Clean release build of the workspace on this machine: {args.build_seconds/60:.1f} min "
                  "(`cargo build --release --workspace --bins`). Kept low by `default-features = false` on every SDK crate",
                  "(no legacy hyper 0.14 / rustls 0.21 stack, no SSO crates) and by building the whole workspace once, sharing one `target/`."]
    arm64 = ROOT / ".work" / "arm64-sizes.json"
    if arm64.exists():
        built = json.loads(arm64.read_text())
        x86 = {name: {"binary_mb": size / 1e6, "zip_mb": zsize / 1e6} for name, _, _, size, zsize in rows}
        lines += ["", "## arm64 artifacts (what `sam build` deploys)", "",
                  f"`scripts/build-arm64.sh` ran `sam build` (rust-cargolambda, aarch64-unknown-linux-gnu, zig) in {built['build_seconds'] / 60:.1f} min;",
                  "each bootstrap was checked to be an AArch64 ELF executable. x86_64 figures from the release build above.", "",
                  "| function (template) | arm64 binary MB | arm64 zip MB | x86_64 binary MB | x86_64 zip MB |", "|---|---|---|---|---|"]
        for logical, size in sorted(built["functions"].items()):
            binary = re.sub(r"(?<!^)(?=[A-Z])", "-", logical.removesuffix("Function")).lower()  # SubmitRequestFunction -> submit-request
            here = x86.get(binary, {})
            lines.append(f"| {logical} ({binary}) | {size['binary_bytes'] / 1e6:.2f} | {size['zip_bytes'] / 1e6:.2f} | "
                         f"{here.get('binary_mb', float('nan')):.2f} | {here.get('zip_mb', float('nan')):.2f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["tls-proxy"]:
        serve_tls_proxy(sys.argv[2:])
    else:
        main()
