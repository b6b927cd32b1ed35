"""A stand-in API server on 127.0.0.1 that records merge patches (the in-pod reporters'
requests) and answers them with a status the test sets: the patch itself on success, a
``Status`` otherwise, as JSON like the API server's."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class PatchRecorder:
    url: str = ""
    status: int = 200
    calls: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def patch_recorder() -> Iterator[PatchRecorder]:
    recorder = PatchRecorder()

    class Handler(BaseHTTPRequestHandler):
        def do_PATCH(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            recorder.calls.append(
                {
                    "path": self.path,
                    "auth": self.headers["Authorization"],
                    "type": self.headers["Content-Type"],
                    "body": json.loads(body),
                }
            )
            ok = recorder.status < 400
            status = {"kind": "Status", "apiVersion": "v1", "status": "Failure"}
            answer = json.loads(body) if ok else {**status, "code": recorder.status}
            data = json.dumps(answer).encode()
            self.send_response(recorder.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    recorder.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield recorder
    finally:
        httpd.shutdown()
        httpd.server_close()
