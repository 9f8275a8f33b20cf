#!/usr/bin/env python3
"""A webhook receiver for Botwire's quick start: python3 docs/quickstart/receiver.py [PORT]

Listens on 127.0.0.1:PORT (default 9000; 0 for any free port) and prints each delivery it gets: its id, its event
type and its body. With BOTWIRE_WEBHOOK_SECRET set to the webhook's secret (whsec_...), it
also checks each delivery's Standard Webhooks signature and refuses a bad one with 401.
Standard library only; stop it with Ctrl-C.
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = os.environ.get("BOTWIRE_WEBHOOK_SECRET", "")
# Deliveries older or newer than this are refused when signatures are checked (replays).
TOLERANCE_SECONDS = 300


def signature_valid(secret, webhook_id, timestamp, body, signatures):
    """Standard Webhooks: HMAC-SHA256 over "id.timestamp.body" with the secret's key bytes,
    base64, compared with each "v1,<signature>" of the header."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(expected, candidate.split(",", 1)[-1])
        for candidate in signatures.split()
    )


# Deliveries are handled on threads of their own; print() writes a line and its newline
# separately, so two at once could share a line. One write per line, one at a time.
_OUTPUT = threading.Lock()


def say(line):
    with _OUTPUT:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class Delivery(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        webhook_id = self.headers.get("webhook-id", "")
        timestamp = self.headers.get("webhook-timestamp", "")
        if SECRET:
            fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) <= TOLERANCE_SECONDS
            signed = signature_valid(
                SECRET, webhook_id, timestamp, body, self.headers.get("webhook-signature", "")
            )
            if not (fresh and signed):
                say(f"refused {webhook_id}: bad signature or timestamp")
                self.send_response(401)
                self.end_headers()
                return
        try:
            event = json.loads(body).get("type", "?")
        except ValueError:
            event = "?"
        checked = "signature checked" if SECRET else "signature not checked"
        say(f"delivery {webhook_id} {event} ({checked}): {body.decode(errors='replace')}")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        # One line per delivery (above) is enough.
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    server = ThreadingHTTPServer(("127.0.0.1", port), Delivery)
    # Port 0 takes a free one; the line says which.
    say(f"receiving webhooks on http://127.0.0.1:{server.server_address[1]}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
