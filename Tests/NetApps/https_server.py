"""A small HTTPS server for the net_request tests: python3 https_server.py PORT CERT KEY.
/ok answers "hello", /big 2 MiB, /redirect-in a redirect to /ok, /redirect-out one to https://example.invalid/x."""
import http.server
import ssl
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/ok":
            self.answer(200, b"hello")
        elif self.path == "/big":
            self.answer(200, b"x" * (2 << 20))
        elif self.path == "/redirect-in":
            self.redirect("/ok")
        elif self.path == "/redirect-out":
            self.redirect("https://example.invalid/x")
        else:
            self.answer(404, b"no")

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[2], sys.argv[3])
server.socket = context.wrap_socket(server.socket, server_side=True)
print("listening", flush=True)
server.serve_forever()
