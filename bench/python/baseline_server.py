"""Baseline: the same model behind Python's own http.server (threads, one process), no Capstan."""
import json
import os
import pickle
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

with open(os.path.join(sys.argv[1], "model.pkl"), "rb") as f:
    model = pickle.load(f)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        p = model.predict_proba(np.asarray(json.loads(body)["instances"], dtype=float))[:, 1]
        data = json.dumps({"probability": p.tolist()}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # autocannon closes its connections at the end of a run


server = Server(("127.0.0.1", 0), Handler)
print(json.dumps({"url": f"http://127.0.0.1:{server.server_address[1]}/"}), flush=True)
server.serve_forever()
