"""The SDK's HTTP client (urllib from the standard library): JSON in and
out, typed errors, and retries of idempotent calls on connection errors and
5xx answers (never of POSTs: a retried /execute would run code twice)."""
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from . import errors

IDEMPOTENT = ("GET", "HEAD", "PUT", "DELETE")


class Client:
    def __init__(self, base_url, headers=None, timeout=60, retries=3):
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.retries = retries

    def url(self, path, params=None):
        url = self.base_url + "/" + path.lstrip("/")
        if params:
            params = {k: v for k, v in params.items() if v is not None}
            if params:
                url += "?" + urllib.parse.urlencode(params)
        return url

    def request(self, method, path, json_body=None, data=None, headers=None, params=None, timeout=None,
                raw=False):
        """The parsed JSON body (or the raw bytes with raw=True); raises a HopxError."""
        h = {"Accept": "application/json"}
        h.update(self.headers)
        if json_body is not None:
            data = json.dumps(json_body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        url = self.url(path, params)
        attempts = self.retries if method in IDEMPOTENT else 1
        for attempt in range(1, attempts + 1):
            req = urllib.request.Request(url, data=data, headers=h, method=method)
            try:
                with urllib.request.urlopen(req, timeout=timeout or self.timeout) as r:
                    body = r.read()
                    if raw:
                        return body
                    return json.loads(body) if body.strip() else {}
            except urllib.error.HTTPError as e:
                body = e.read()
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = {"message": body.decode("utf-8", "replace")[:500] or e.reason}
                err = errors.from_response(e.code, parsed, e.headers.get("X-Request-ID"))
                if e.code >= 500 and attempt < attempts:
                    time.sleep(min(2 ** (attempt - 1), 10))
                    continue
                raise err from None
            except (socket.timeout, TimeoutError) as e:
                if attempt < attempts:
                    continue
                raise errors.TimeoutError("%s %s: no answer in %ss" % (method, url, timeout or self.timeout)) from e
            except (urllib.error.URLError, ConnectionError, OSError) as e:
                if attempt < attempts:
                    time.sleep(min(2 ** (attempt - 1), 10))
                    continue
                raise errors.NetworkError("%s %s: %s" % (method, url, getattr(e, "reason", e))) from e
        raise errors.NetworkError("%s %s: no attempt made" % (method, url))

    def multipart(self, path, fields, files, timeout=None):
        """POST multipart/form-data: FILES first (name -> (filename, bytes)), then FIELDS."""
        boundary = "hopx-" + uuid.uuid4().hex
        parts = []
        for name, (filename, content) in files.items():
            parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                          "Content-Type: application/octet-stream\r\n\r\n" % (boundary, name, filename)).encode()
                         + content + b"\r\n")
        for name, value in fields.items():
            parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                          % (boundary, name, value)).encode())
        data = b"".join(parts) + ("--%s--\r\n" % boundary).encode()
        return self.request("POST", path, data=data, timeout=timeout,
                            headers={"Content-Type": "multipart/form-data; boundary=" + boundary})
