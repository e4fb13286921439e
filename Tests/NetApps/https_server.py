"""A small HTTPS server for the net_request tests: python3 https_server.py PORT CERT KEY.
/ok answers "hello", /big 2 MiB, /redirect-in a redirect to /ok, /redirect-out one to https://example.invalid/x;
hostile: /headers sends headers without end, /drip a body a byte at a time that never ends, /huge-header one 1 MiB
header."""
import http.server
import ssl
import sys
import time


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
        elif self.path == "/headers":
            self.hostile(lambda i: b"X-%d: %s\r\n" % (i, b"y" * 100), b"HTTP/1.1 200 OK\r\n")
        elif self.path == "/huge-header":
            self.hostile(lambda i: b"y" * 4096, b"HTTP/1.1 200 OK\r\nX-Huge: ")
        elif self.path == "/drip":
            self.hostile(lambda i: b"x", b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n", pause=0.05)
        else:
            self.answer(404, b"no")

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def hostile(self, piece, start, pause=0.0):
        """Writes `start` then `piece(i)` until the client goes away (at most 10 MiB or 60 s)."""
        try:
            self.wfile.write(start)
            sent, began, i = 0, time.monotonic(), 0
            while sent < 10 << 20 and time.monotonic() - began < 60:
                chunk = piece(i)
                self.wfile.write(chunk)
                self.wfile.flush()
                sent += len(chunk)
                i += 1
                if pause:
                    time.sleep(pause)
        except OSError:
            pass
        self.close_connection = True

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
