"""Experiment tracking: runs, params, batched metrics, tags and artifacts (MLflow-style)."""
import json
import os
import sys
import threading
import time

from .client import Client, _quote
from .errors import CapstanError

RUN_ID_ENV = "CAPSTAN_RUN_ID"
LINE_PREFIX = "::capstan "
MAX_BATCH = 10000


def _scalar(value):
    return value if isinstance(value, (str, int, float, bool)) else str(value)


class Run:
    """One run. Metric points are buffered and sent in batches (at `batch_size` points, every
    `flush_interval` seconds, and when the run ends); params and tags are sent at once.

    Inside a pipeline step (CAPSTAN_RUN_ID set) the run is the step's own: with a server URL the
    client writes to it over HTTP; without one it writes `::capstan {...}` lines to stdout, which the
    step's log reader applies to the run. Either way the step, not the client, ends it."""

    def __init__(self, client, run_id, attached=False, via_log=False, batch_size=1000, flush_interval=2.0):
        self.client = client
        self.id = run_id
        self.attached = attached
        self.via_log = via_log
        self.batch_size = max(1, min(int(batch_size), MAX_BATCH))
        self.flush_interval = flush_interval
        self._buffer = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._flusher = None
        self.ended = False

    def __repr__(self):
        return f"Run(id={self.id!r}, attached={self.attached})"

    # ---- context manager ------------------------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        end_run("failed" if exc_type else "finished", run=self)
        return False

    # ---- logging --------------------------------------------------------------------------

    def _send(self, doc):
        if self.via_log:
            sys.stdout.write(LINE_PREFIX + json.dumps(doc, separators=(",", ":")) + "\n")
            sys.stdout.flush()
            return
        if "metrics" in doc:
            self.client.json("POST", f"/api/v1/runs/{_quote(self.id)}/metrics", {"metrics": doc["metrics"]})
        if "params" in doc:
            self.client.json("POST", f"/api/v1/runs/{_quote(self.id)}/params", {"params": doc["params"]})
        if "tags" in doc:
            self.client.json("POST", f"/api/v1/runs/{_quote(self.id)}/tags", {"tags": doc["tags"]})

    def log_params(self, params):
        """Records params (write-once per key, as MLflow's)."""
        if params:
            self._send({"params": {str(k): _scalar(v) for k, v in params.items()}})

    def log_param(self, key, value):
        self.log_params({key: value})

    def set_tags(self, tags):
        if tags:
            self._send({"tags": {str(k): str(v) for k, v in tags.items()}})

    def set_tag(self, key, value):
        self.set_tags({key: value})

    def log_metrics(self, metrics, step=None, timestamp=None):
        """Queues one point per metric; `step` defaults to 0, `timestamp` (ms since the epoch) to now."""
        at = int(timestamp if timestamp is not None else time.time() * 1000)
        points = []
        for key, value in metrics.items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise CapstanError("CAPSTAN_REGISTRY_METRIC_INVALID", f"metric {key} must be a number, got {value!r}", status=400) from None
            point = {"key": str(key), "value": number, "timestamp": at}
            if step is not None:
                point["step"] = int(step)
            points.append(point)
        with self._lock:
            self._buffer.extend(points)
            full = len(self._buffer) >= self.batch_size
        if full:
            self.flush()
        else:
            self._start_flusher()

    def log_metric(self, key, value, step=None, timestamp=None):
        self.log_metrics({key: value}, step=step, timestamp=timestamp)

    def flush(self):
        """Sends the queued metric points now."""
        while True:
            with self._lock:
                batch, self._buffer = self._buffer[: self.batch_size], self._buffer[self.batch_size:]
            if not batch:
                return
            self._send({"metrics": batch})

    def _start_flusher(self):
        if self._flusher is not None or self.flush_interval <= 0:
            return

        def loop():
            while not self._stop.wait(self.flush_interval):
                try:
                    self.flush()
                except CapstanError as err:
                    print(f"capstan: could not send metrics: {err}", file=sys.stderr)

        self._flusher = threading.Thread(target=loop, name="capstan-metrics", daemon=True)
        self._flusher.start()

    def log_artifact(self, local_path, artifact_path=None):
        """Uploads a file or a directory under the run's artifacts (optionally below `artifact_path`)."""
        if self.via_log:
            raise CapstanError("CAPSTAN_REQUEST_INVALID", "log_artifact inside a pipeline step needs CAPSTAN_URL: write the file to an output of the step instead", status=400)
        if not os.path.exists(local_path):
            raise CapstanError("CAPSTAN_REQUEST_INVALID", f"cannot log artifact {local_path}: no such file or directory", status=400)
        base = f"runs/{self.id}/artifacts/" + (artifact_path.strip("/") + "/" if artifact_path else "")
        if os.path.isdir(local_path):
            return [info for _, info in self.client.upload_directory(local_path, base)]
        return [self.client.upload(local_path, base + os.path.basename(local_path))]

    def end(self, status="finished"):
        """Sends what is queued and ends the run with `status` (finished, failed or killed)."""
        if self.ended:
            return
        self.ended = True
        self._stop.set()
        self.flush()
        if not self.attached:
            self.client.json("PATCH", f"/api/v1/runs/{_quote(self.id)}", {"status": status})


_active = []
_default_client = None


def _client(url=None, api_key=None):
    global _default_client
    if url is not None or api_key is not None:
        return Client(url, api_key)
    if _default_client is None:
        _default_client = Client()
    return _default_client


def start_run(experiment="default", name=None, params=None, tags=None, url=None, api_key=None, **options):
    """Starts a run in `experiment` (created when needed) and makes it the active one; use it with `with`.

    Inside a pipeline step it attaches to the step's own run instead of starting one."""
    client = _client(url, api_key)
    step_run = os.environ.get(RUN_ID_ENV)
    if step_run:
        via_log = url is None and not os.environ.get("CAPSTAN_URL")
        run = Run(client, step_run, attached=True, via_log=via_log, **options)
        run.log_params(params)
        run.set_tags(tags)
    else:
        body = {"experiment": experiment}
        if name:
            body["name"] = name
        if params:
            body["params"] = {str(k): _scalar(v) for k, v in params.items()}
        if tags:
            body["tags"] = {str(k): str(v) for k, v in tags.items()}
        run = Run(client, client.json("POST", "/api/v1/runs", body)["id"], **options)
    _active.append(run)
    return run


def active_run():
    """The innermost run started and not ended, or None."""
    return _active[-1] if _active else None


def _require_run():
    run = active_run()
    if run is None:
        raise CapstanError("CAPSTAN_REQUEST_INVALID", "no active run: call capstan.start_run(...) first", status=400)
    return run


def end_run(status="finished", run=None):
    """Ends the active run (or `run`) with `status`: finished, failed or killed."""
    run = run or active_run()
    if run is None:
        return
    if run in _active:
        _active.remove(run)
    run.end(status)


def log_param(key, value):
    _require_run().log_param(key, value)


def log_params(params):
    _require_run().log_params(params)


def log_metric(key, value, step=None, timestamp=None):
    _require_run().log_metric(key, value, step=step, timestamp=timestamp)


def log_metrics(metrics, step=None, timestamp=None):
    _require_run().log_metrics(metrics, step=step, timestamp=timestamp)


def set_tag(key, value):
    _require_run().set_tag(key, value)


def set_tags(tags):
    _require_run().set_tags(tags)


def log_artifact(local_path, artifact_path=None):
    return _require_run().log_artifact(local_path, artifact_path)


def register_model(name, path, metrics=None, params=None, tags=None, description=None, url=None, api_key=None):
    """Registers the model package at `path` as the next version of `name`; links the active run when there is one."""
    run = active_run()
    if run is not None:
        run.flush()
    return _client(url, api_key).register_model(name, path, metrics=metrics, params=params, tags=tags, description=description,
                                                run_id=run.id if run is not None else None)


def invoke(endpoint, body, target_variant=None, content_type=None, url=None, api_key=None, **options):
    """Invokes an endpoint and returns its Invocation (`.body` parsed when JSON, `.variant`)."""
    return _client(url, api_key).invoke(endpoint, body, target_variant=target_variant, content_type=content_type, **options)


def decide(usecase, input, url=None, api_key=None):
    """Makes a decision with the use case's active version and returns its record (`outcome`, `reasons`, `output`, `id`)."""
    return _client(url, api_key).decide(usecase, input)
