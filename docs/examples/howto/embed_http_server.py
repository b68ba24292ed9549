"""Take over a WebSocket upgrade inside the standard library's http.server."""

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from embed_raw_socket import echo, run

from wsproto_core import ServerConnection

PAGE = b"<!DOCTYPE html><title>http.server</title><p>The WebSocket endpoint is /ws.</p>"


class Handler(BaseHTTPRequestHandler):
    # Unbuffered: http.server then reads no byte past the request head, so
    # whatever the client sends next is still in the socket for us.
    rbufsize = 0

    def do_GET(self):
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self.close_connection = True  # no HTTP on this socket afterwards
            conn = ServerConnection.from_request(
                self.command, self.path, list(self.headers.items())
            )
            run(self.connection, conn, echo)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)


def main(host="localhost", port=8765):
    with ThreadingHTTPServer((host, port), Handler) as httpd:
        print(f"Listening on http://{host}:{httpd.server_port}/", flush=True)
        httpd.serve_forever()


if __name__ == "__main__":
    main()
