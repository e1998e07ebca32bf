"""Runtime API client over one persistent http.client connection (no timeout: /next long-polls)."""

import http.client
import os
import socket
import sys

_API = "/2018-06-01"
_BASE = _API + "/runtime"


class Invocation:
    __slots__ = ("request_id", "body", "headers")

    def __init__(self, request_id, body, headers):
        self.request_id = request_id
        self.body = body
        self.headers = headers


class RuntimeClient:
    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self._host = host
        self._port = int(port)
        self._conn = None

    def _connection(self):
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self._host, self._port, timeout=None)
            self._conn.connect()
            self._conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self._conn

    def _request(self, method, path, body=None, headers=None):
        # One retry on a fresh connection: a kept-alive socket may have been closed under us.
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=headers or {})
                response = conn.getresponse()
                return response.status, response.getheaders(), response.read()
            except (ConnectionError, http.client.HTTPException):
                conn.close()
                self._conn = None
                if attempt == 2:
                    raise

    def ping(self):
        """Lamina's `GET /2018-06-01/ping` (not Lambda's API): opens the connection, parks the standby."""
        self._request("GET", "{}/ping?pid={}".format(_API, os.getpid()))

    def next(self):
        status, headers, body = self._request("GET", _BASE + "/invocation/next")
        if status != 200:
            raise RuntimeError("/invocation/next returned {}: {!r}".format(status, body))
        lowered = {name.lower(): value for name, value in headers}
        return Invocation(lowered.get("lambda-runtime-aws-request-id"), body, lowered)

    def post_response(self, request_id, body, content_type):
        self._post(_BASE + "/invocation/{}/response".format(request_id), body, {"Content-Type": content_type})

    def post_error(self, request_id, body, error_type):
        headers = {"Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": error_type}
        self._post(_BASE + "/invocation/{}/error".format(request_id), body, headers)

    def post_init_error(self, body, error_type):
        headers = {"Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": error_type}
        self._post(_BASE + "/init/error", body, headers)

    def _post(self, path, body, headers):
        if isinstance(body, str):
            body = body.encode("utf-8")
        status, _, answer = self._request("POST", path, body, headers)
        if status != 202:
            # A refused post (413 for an oversized result) ends that invocation, not the runtime.
            sys.stderr.write("lamina runtime: POST {} returned {}: {!r}\n".format(path, status, answer))
