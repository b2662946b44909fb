"""Errors raised by the client: each carries the catalogue code of docs/errors.md."""


class CapstanError(Exception):
    """A refusal or failure, with the server's catalogue code (`CAPSTAN_...`), HTTP status and detail.

    Extra fields of the problem (for example `module` or `endpoint`) are in `fields`."""

    def __init__(self, code, detail, status=None, fields=None):
        super().__init__(f"{detail} ({code})")
        self.code = code
        self.detail = detail
        self.status = status
        self.fields = fields or {}


class ServerUnreachableError(CapstanError):
    """The server did not answer at all (down, wrong URL, refused connection)."""

    def __init__(self, url, reason):
        super().__init__("CAPSTAN_CLIENT_SERVER_UNREACHABLE", f"cannot reach the Capstan server at {url}: {reason}", status=503,
                         fields={"url": url})
