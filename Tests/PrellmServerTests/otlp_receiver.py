"""A real OTLP/HTTP trace receiver for the tests: decodes what prellm sends to POST /v1/traces
with the official opentelemetry-proto package (protobuf, or OTLP/JSON through json_format)
and appends each span as one JSON line to a file the Swift test reads.

usage: otlp_receiver.py PORT_FILE SPANS_FILE   (it listens on a free loopback port and writes
the port to PORT_FILE once it does)
"""
import base64
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

port_file, spans_file = sys.argv[1], sys.argv[2]
# The test runner ignores or blocks SIGTERM and a child inherits both; the receiver also ends
# when its stdin closes (the test stopped it, or the test process is gone), so none is left over.
signal.signal(signal.SIGTERM, signal.SIG_DFL)
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])


def exit_when_stdin_closes():
    sys.stdin.buffer.read()
    os._exit(0)


threading.Thread(target=exit_when_stdin_closes, daemon=True).start()


def hex_ids_to_base64(node):
    """OTLP/JSON writes ids as hex; protobuf's JSON mapping reads bytes as base64."""
    if isinstance(node, dict):
        for key, value in list(node.items()):
            if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                node[key] = base64.b64encode(bytes.fromhex(value)).decode()
            else:
                hex_ids_to_base64(value)
    elif isinstance(node, list):
        for item in node:
            hex_ids_to_base64(item)


def value(any_value):
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [value(v) for v in any_value.array_value.values]
    return getattr(any_value, kind) if kind else None


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        content_type = self.headers.get("Content-Type", "")
        request = ExportTraceServiceRequest()
        try:
            if self.path != "/v1/traces":
                raise ValueError("wrong path " + self.path)
            if content_type == "application/json":
                document = json.loads(body)
                hex_ids_to_base64(document)
                json_format.Parse(json.dumps(document), request)
            elif content_type == "application/x-protobuf":
                request.ParseFromString(body)
            else:
                raise ValueError("unexpected content type " + content_type)
        except Exception as e:  # the test sees the failure as a line of its own
            with open(spans_file, "a") as out:
                out.write(json.dumps({"decode_error": str(e)}) + "\n")
            self.send_response(400)
            self.end_headers()
            return
        lines = []
        for rs in request.resource_spans:
            resource = {kv.key: value(kv.value) for kv in rs.resource.attributes}
            for ss in rs.scope_spans:
                for s in ss.spans:
                    lines.append(json.dumps({
                        "trace_id": s.trace_id.hex(), "span_id": s.span_id.hex(),
                        "parent_span_id": s.parent_span_id.hex(), "name": s.name, "kind": s.kind,
                        "start": s.start_time_unix_nano, "end": s.end_time_unix_nano,
                        "status_code": s.status.code, "status_message": s.status.message,
                        "attributes": {kv.key: value(kv.value) for kv in s.attributes},
                        "resource": resource, "scope": ss.scope.name, "content_type": content_type,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                    }))
        with open(spans_file, "a") as out:
            out.write("".join(line + "\n" for line in lines))
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.end_headers()
        self.wfile.write(b"" if content_type == "application/x-protobuf" else b"{}")

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
# The rename makes the port appear whole.
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
