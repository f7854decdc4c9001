"""A stand-in for OpenAI's chat completions, for the check scripts: every request is answered
"hello from upstream" with a fixed usage. python3 upstream.py PORT [ADDRESS]"""
import http.server, json, sys


class Upstream(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        answer = {"id": "c1", "object": "chat.completion", "created": 0, "model": body["model"],
                  "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello from upstream"}, "finish_reason": "stop"}],
                  "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


address = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
http.server.HTTPServer((address, int(sys.argv[1])), Upstream).serve_forever()
