"""The HTTP side of the client: one `Client` per server, standard library only."""
import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
import uuid

from .errors import CapstanError, ServerUnreachableError

DEFAULT_URL = "http://127.0.0.1:7070"


def _quote(segment):
    return urllib.parse.quote(str(segment), safe="")


def _key_path(key):
    return "/".join(_quote(part) for part in key.split("/"))


class Invocation:
    """An endpoint's answer: `body` (parsed when JSON), the raw `text`, its `content_type` and the `variant` that answered."""

    def __init__(self, text, content_type, variant):
        self.text = text
        self.content_type = content_type
        self.variant = variant
        self.body = json.loads(text) if "json" in (content_type or "") and text else text

    def __repr__(self):
        return f"Invocation(variant={self.variant!r}, body={self.body!r})"


class Client:
    """A Capstan server: `url` and `api_key` default to CAPSTAN_URL and CAPSTAN_API_KEY (url: http://127.0.0.1:7070)."""

    def __init__(self, url=None, api_key=None, timeout=30.0):
        self.url = (url or os.environ.get("CAPSTAN_URL") or DEFAULT_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("CAPSTAN_API_KEY")
        self.timeout = timeout

    # ---- transport ----------------------------------------------------------------------

    def request(self, method, path, body=None, query=None, headers=None, raw=None):
        """Sends one request; returns (status, headers, bytes). A problem answer raises CapstanError with its code."""
        url = self.url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        all_headers = {"accept": "application/json, application/problem+json"}
        if self.api_key:
            all_headers["authorization"] = f"Bearer {self.api_key}"
        data = raw
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            all_headers["content-type"] = "application/json"
        all_headers.update(headers or {})
        req = urllib.request.Request(url, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as res:
                return res.status, res.headers, res.read()
        except urllib.error.HTTPError as err:
            raise _problem(err.code, err.read(), err.headers.get("content-type", "")) from None
        except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as err:
            reason = getattr(err, "reason", err)
            raise ServerUnreachableError(self.url, str(reason)) from None

    def json(self, method, path, body=None, query=None):
        """A JSON request and its parsed JSON answer."""
        _, _, data = self.request(method, path, body=body, query=query)
        return json.loads(data) if data else None

    # ---- registry -----------------------------------------------------------------------

    def upload(self, local_path, key):
        """Uploads one file to the artifact store under `key`."""
        with open(local_path, "rb") as f:
            data = f.read()
        _, _, answer = self.request("PUT", f"/api/v1/artifacts/{_key_path(key)}", raw=data,
                                    headers={"content-type": "application/octet-stream"})
        return json.loads(answer)

    def upload_directory(self, local_dir, prefix):
        """Uploads every file under `local_dir` to `prefix` + its relative path; returns the upload answers."""
        out = []
        for root, dirs, files in os.walk(local_dir):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                rel = os.path.relpath(path, local_dir).replace(os.sep, "/")
                out.append((rel, self.upload(path, prefix + rel)))
        return out

    def register_model(self, name, path, metrics=None, params=None, tags=None, description=None, run_id=None):
        """Registers the model package at `path` (a directory with model.json) as the next version of `name`."""
        if not os.path.isfile(os.path.join(path, "model.json")):
            raise CapstanError("CAPSTAN_REGISTRY_PACKAGE_INVALID", f"{path} is not a model package: it has no model.json", status=400)
        uploaded = self.upload_directory(path, f"uploads/upl_{uuid.uuid4().hex}/")
        rel, first = uploaded[0]
        artifact_uri = first["uri"][: len(first["uri"]) - len(rel) - 1]
        body = {"artifactUri": artifact_uri}
        for key, value in (("metrics", metrics), ("params", params), ("tags", tags), ("description", description)):
            if value is not None:
                body[key] = value
        if run_id:
            body["lineage"] = {"runId": run_id}
        return self.json("POST", f"/api/v1/models/{_quote(name)}/versions", body)

    # ---- serving ------------------------------------------------------------------------

    def invoke(self, endpoint, body, target_variant=None, content_type=None, inference_id=None, custom_attributes=None):
        """Invokes an endpoint; `body` is sent as JSON unless it is str or bytes. Returns an Invocation."""
        if isinstance(body, (bytes, bytearray)):
            raw, ctype = bytes(body), content_type or "application/octet-stream"
        elif isinstance(body, str):
            raw, ctype = body.encode("utf-8"), content_type or "application/json"
        else:
            raw, ctype = json.dumps(body).encode("utf-8"), content_type or "application/json"
        headers = {"content-type": ctype}
        for header, value in (("x-capstan-target-variant", target_variant), ("x-capstan-inference-id", inference_id),
                              ("x-capstan-custom-attributes", custom_attributes)):
            if value is not None:
                headers[header] = value
        _, res_headers, data = self.request("POST", f"/endpoints/{_quote(endpoint)}/invocations", raw=raw, headers=headers)
        return Invocation(data.decode("utf-8"), res_headers.get("content-type", ""), res_headers.get("x-capstan-invoked-variant"))

    # ---- decisions ----------------------------------------------------------------------

    def decide(self, usecase, input):
        """Asks the use case's active version for a decision; returns the stored record (outcome, reasons, output, id)."""
        return self.json("POST", f"/api/v1/decisions/{_quote(usecase)}", input)


def _problem(status, data, content_type):
    try:
        doc = json.loads(data)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("code"), str):
        fields = {k: v for k, v in doc.items() if k not in ("type", "title", "status", "detail", "code", "instance")}
        return CapstanError(doc["code"], str(doc.get("detail") or doc.get("title") or f"HTTP {status}"), status=status, fields=fields)
    text = data[:200].decode("utf-8", errors="replace") if data else ""
    return CapstanError("CAPSTAN_ROUTE_NOT_FOUND" if status == 404 else "CAPSTAN_INTERNAL", text or f"HTTP {status}", status=status)
