"""A scripted OpenAI-compatible chat-completions server for the judge's tests.

It answers each request by a plan read from a JSON file:

    {"verdicts": {"t3": 2, ...},                  # 1-based first error; 0 = all correct
     "faults": {"t3": ["http500", "ok"], ...},    # what successive requests for t3 get
     "delay": 0.05,                               # seconds before answering "ok"
     "completion_tokens": 50}

A request belongs to the trajectory whose marker `[tN]` appears in its prompt. Once a
trajectory's fault list is used up, its requests are answered "ok". Faults:
  ok            the verdict as the critique prompt asks for it
  http500       500 Internal Server Error
  http401       401 Unauthorized
  rate_limited  429 with Retry-After: 1
  hang          no answer for 30 s
  reset         headers and half the body, then the connection is reset
  bad_json      200 with a body that is not JSON
  html          200 with an HTML page, as a web server's front page
  no_conclusion 200 with analyses but no <conclusion>
  truncated     200 with finish_reason "length"

Every request is appended to the log file as one JSON line {"id", "fault", "authorization"}
when it arrives, before it is answered. The server prints its port on the first line of standard output.

Usage: scripted_judge.py PLAN.json LOG.jsonl
"""

import json
import re
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PLAN = json.load(open(sys.argv[1]))
LOG = open(sys.argv[2], "a", buffering=1)
LOCK = threading.Lock()
SEEN = {}


def next_fault(ident, authorization):
    with LOCK:
        count = SEEN.get(ident, 0)
        SEEN[ident] = count + 1
        faults = PLAN.get("faults", {}).get(ident, [])
        fault = faults[count] if count < len(faults) else "ok"
        LOG.write(json.dumps({"id": ident, "fault": fault, "authorization": authorization}) + "\n")
        return fault


def critique(ident, verdict):
    if verdict == 0:
        body = "".join(f"<analysis_{i}>{ident} step {i} holds.</analysis_{i}>\n" for i in (1, 2))
        return body + "<conclusion>Correct</conclusion>"
    body = "".join(
        f"<analysis_{i}>{ident} step {i} {'is wrong' if i == verdict else 'holds'}.</analysis_{i}>\n"
        for i in range(1, verdict + 1)
    )
    return body + "<conclusion>Incorrect</conclusion>"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=(), content_type="application/json"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def completion(self, content, finish_reason="stop"):
        tokens = PLAN.get("completion_tokens", 50)
        return json.dumps({
            "id": "chatcmpl-scripted",
            "object": "chat.completion",
            "choices": [{"index": 0, "finish_reason": finish_reason,
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": tokens,
                      "total_tokens": 100 + tokens},
        })

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = request["messages"][-1]["content"]
        match = re.search(r"\[(t\d+)\]", prompt)
        ident = match.group(1) if match else "unknown"
        fault = next_fault(ident, self.headers.get("Authorization"))
        verdict = PLAN.get("verdicts", {}).get(ident, 0)
        if fault == "ok":
            time.sleep(PLAN.get("delay", 0))
            self.reply(200, self.completion(critique(ident, verdict)))
        elif fault == "http500":
            self.reply(500, '{"error": "internal"}')
        elif fault == "http401":
            self.reply(401, '{"error": "invalid api key"}')
        elif fault == "rate_limited":
            self.reply(429, '{"error": "slow down"}', [("Retry-After", "1")])
        elif fault == "hang":
            time.sleep(30)
            self.close_connection = True
        elif fault == "reset":
            data = self.completion(critique(ident, verdict)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif fault == "bad_json":
            self.reply(200, '{"choices": [{"message": ')
        elif fault == "html":
            page = "<!DOCTYPE html>\n<html>\n<head><title>Welcome</title></head>\n</html>\n"
            self.reply(200, page, content_type="text/html")
        elif fault == "no_conclusion":
            self.reply(200, self.completion(f"<analysis_1>{ident} looks fine.</analysis_1>"))
        elif fault == "truncated":
            self.reply(200, self.completion(f"<analysis_1>{ident} step 1 ho", "length"))
        else:
            self.reply(400, json.dumps({"error": f"unknown fault {fault}"}))


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that timed out and hung up is part of the script


server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
