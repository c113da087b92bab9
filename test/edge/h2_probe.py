"""An independent HTTP/2 client (Debian's python3-h2) for Pillion's edge tests.

Usage: h2_probe.py PORT. Sends one good request, then requests h2 would normally refuse to
send (validation off), each on its own connection, and prints one JSON line per case:
{"case": ..., "status": N} or {"case": ..., "reset": CODE} or {"case": ..., "goaway": CODE}.
"""
import json
import socket
import ssl
import sys

import h2.config
import h2.connection
import h2.events

PORT = int(sys.argv[1])

BASE = [(":method", "GET"), (":scheme", "https"), (":authority", "a.test"), (":path", "/py")]
CASES = {
    "good": (BASE, None),
    "uppercase name": (BASE + [("X-Upper", "1")], None),
    "connection field": (BASE + [("connection", "close")], None),
    "transfer-encoding": (BASE + [("transfer-encoding", "chunked")], None),
    "host differs from :authority": (BASE + [("host", "evil.test")], None),
    "content-length mismatch": (
        [(":method", "POST"), (":scheme", "https"), (":authority", "a.test"), (":path", "/py"),
         ("content-length", "10")],
        b"abc",
    ),
    "duplicate :path": (BASE + [(":path", "/other")], None),
}


def run(name, headers, body):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", PORT), timeout=5),
                           server_hostname="localhost")
    cfg = h2.config.H2Configuration(client_side=True, validate_outbound_headers=False,
                                    normalize_outbound_headers=False,
                                    validate_inbound_headers=False)
    conn = h2.connection.H2Connection(config=cfg)
    conn.initiate_connection()
    conn.send_headers(1, headers, end_stream=body is None)
    if body is not None:
        conn.send_data(1, body, end_stream=True)
    sock.sendall(conn.data_to_send())
    result = {"case": name}
    try:
        while len(result) == 1:
            data = sock.recv(65535)
            if not data:
                result["closed"] = True
                break
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == 1:
                    result["status"] = int(dict(ev.headers)[b":status"])
                elif isinstance(ev, h2.events.StreamReset) and ev.stream_id == 1:
                    result["reset"] = int(ev.error_code)
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    result["goaway"] = int(ev.error_code)
            sock.sendall(conn.data_to_send())
    except (OSError, h2.exceptions.ProtocolError) as err:
        result["error"] = type(err).__name__
    sock.close()
    print(json.dumps(result), flush=True)


for case, (hdrs, payload) in CASES.items():
    run(case, hdrs, payload)
