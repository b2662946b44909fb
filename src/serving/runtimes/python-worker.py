"""Capstan's Python model worker: loads one model package's inference.py once and answers the serving
host's framed requests on stdin/stdout until stdin closes.

Frame: a 4-byte big-endian length, then that many bytes: a 4-byte big-endian header length, the JSON
header, then the payload (request or response bodies, concatenated, untouched). Standard library only,
so any interpreter with the model's own dependencies can run it.

Handlers (SageMaker inference toolkit): model_fn(model_dir), input_fn(body, content_type),
predict_fn(data, model), output_fn(prediction, accept), or transform_fn(model, body, content_type,
accept) instead of the last three. With PREDICT_BATCH = True in inference.py, predict_fn receives a
list of inputs (one per request) and returns a list of predictions.
"""
import csv
import importlib.metadata
import importlib.util
import io
import json
import os
import re
import struct
import sys
import time
import traceback

# The protocol owns the real stdout; prints of the model code go to stderr (the server log).
PROTO_OUT = os.fdopen(os.dup(1), "wb", buffering=0)
os.dup2(2, 1)
sys.stdout = sys.stderr
PROTO_IN = os.fdopen(os.dup(0), "rb", buffering=0)


class HandlerError(Exception):
    """An error that crosses the protocol: a catalogue code, a client-safe detail, the log-only cause."""

    def __init__(self, code, detail, cause=None, fields=None):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.cause = cause
        self.fields = fields or {}


def write_frame(header, payload=b""):
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    view = memoryview(struct.pack(">II", 4 + len(head) + len(payload), len(head)) + head + payload)
    while view:  # a raw pipe write may take only part of a large frame
        view = view[PROTO_OUT.write(view):]


def read_exact(n):
    chunks = []
    while n > 0:
        chunk = PROTO_IN.read(n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame():
    size = read_exact(4)
    if size is None:
        return None
    body = read_exact(struct.unpack(">I", size)[0])
    if body is None:
        return None
    hlen = struct.unpack(">I", body[:4])[0]
    return json.loads(body[4:4 + hlen].decode("utf-8")), body[4 + hlen:]


# ---- default handlers (JSON and CSV) ----------------------------------------------------------


def _number(text):
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def default_input_fn(body, content_type):
    """JSON -> the parsed value; CSV -> a list of rows of numbers; text -> str; anything else -> bytes."""
    media = content_type.split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as err:
            raise HandlerError("CAPSTAN_SERVING_MALFORMED_JSON", "the request body is not valid JSON", cause=repr(err))
    if media == "text/csv":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as err:
            raise HandlerError("CAPSTAN_SERVING_INVALID_INPUT", "the CSV body is not UTF-8", cause=repr(err))
        return [[_number(cell.strip()) for cell in row] for row in csv.reader(io.StringIO(text)) if row]
    if media.startswith("text/"):
        return body.decode("utf-8", errors="replace")
    return body


def default_predict_fn(data, model):
    if hasattr(model, "predict"):
        return model.predict(data)
    if callable(model):
        return model(data)
    raise HandlerError("CAPSTAN_SERVING_MODEL_PACKAGE_INVALID", "inference.py defines no predict_fn and its model has no predict method")


def _plain(value):
    """numpy and torch values as JSON-ready Python values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def default_output_fn(prediction, accept):
    media = accept.split(";")[0].strip().lower()
    if media == "text/csv":
        rows = _plain(prediction) if hasattr(prediction, "tolist") else prediction
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for row in rows if isinstance(rows, (list, tuple)) else [rows]:
            writer.writerow(row if isinstance(row, (list, tuple)) else [row])
        return out.getvalue(), "text/csv"
    return json.dumps(prediction, default=_plain, allow_nan=False), "application/json"


# ---- loading ---------------------------------------------------------------------------------

REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*((?:[<>=!~]=?|===)\s*[^;#\s,]+(?:\s*,\s*(?:[<>=!~]=?)\s*[^;#\s,]+)*)?")


def _release(version):
    parts = []
    for piece in version.split("."):
        digits = re.match(r"\d+", piece)
        if not digits:
            break
        parts.append(int(digits.group(0)))
    return tuple(parts)


def _satisfies(installed, spec):
    have = _release(installed)
    for clause in spec.split(","):
        m = re.match(r"\s*(===|==|!=|<=|>=|~=|<|>)\s*(\S+)", clause)
        if not m:
            continue
        op, want = m.group(1), m.group(2)
        if want.endswith(".*"):
            prefix = _release(want[:-2])
            ok = have[:len(prefix)] == prefix
            ok = ok if op == "==" else not ok
        else:
            w = _release(want)
            n = max(len(have), len(w))
            a, b = have + (0,) * (n - len(have)), w + (0,) * (n - len(w))
            ok = {"==": a == b, "===": a == b, "!=": a != b, "<=": a <= b, ">=": a >= b, "<": a < b, ">": a > b,
                  "~=": a >= b and a[:max(len(w) - 1, 1)] == b[:max(len(w) - 1, 1)]}[op]
        if not ok:
            return False
    return True


def check_requirements(model_dir, interpreter):
    path = os.path.join(model_dir, "requirements.txt")
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        m = REQUIREMENT.match(line)
        if not m:
            continue
        name, spec = m.group(1), (m.group(3) or "").strip()
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            module = name.replace("-", "_").lower()
            if importlib.util.find_spec(module) is None:
                raise HandlerError("CAPSTAN_SERVING_PYTHON_DEPENDENCY_MISSING",
                                   f"requirements.txt needs {name}, which {interpreter} does not have installed",
                                   fields={"module": name})
            continue
        if spec and not _satisfies(installed, spec):
            raise HandlerError("CAPSTAN_SERVING_PYTHON_DEPENDENCY_MISSING",
                               f"requirements.txt needs {name}{spec}, but {interpreter} has {name} {installed}",
                               fields={"module": name, "installed": installed})


def load_module(model_dir, entry, interpreter):
    path = os.path.join(model_dir, entry)
    sys.path.insert(0, os.path.dirname(path))
    spec = importlib.util.spec_from_file_location("inference", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as err:
        raise HandlerError("CAPSTAN_SERVING_MODEL_LOAD_FAILED", f"{entry} has a syntax error at line {err.lineno}: {err.msg}",
                           cause=traceback.format_exc())
    except ModuleNotFoundError as err:
        raise HandlerError("CAPSTAN_SERVING_PYTHON_DEPENDENCY_MISSING",
                           f"{entry} imports {err.name}, which {interpreter} cannot import (No module named {err.name!r})",
                           cause=traceback.format_exc(), fields={"module": err.name})
    except Exception as err:
        raise HandlerError("CAPSTAN_SERVING_MODEL_LOAD_FAILED", f"importing {entry} raised {type(err).__name__}",
                           cause=traceback.format_exc())
    return module


class Handlers:
    def __init__(self, module, model_dir):
        self.transform_fn = getattr(module, "transform_fn", None)
        self.input_fn = getattr(module, "input_fn", None) or default_input_fn
        self.predict_fn = getattr(module, "predict_fn", None) or default_predict_fn
        self.output_fn = getattr(module, "output_fn", None) or default_output_fn
        self.batched = bool(getattr(module, "PREDICT_BATCH", False)) and self.transform_fn is None
        model_fn = getattr(module, "model_fn", None)
        try:
            self.model = model_fn(model_dir) if model_fn else None
        except HandlerError:
            raise
        except ModuleNotFoundError as err:
            raise HandlerError("CAPSTAN_SERVING_PYTHON_DEPENDENCY_MISSING", f"model_fn imports {err.name}, which cannot be imported",
                               cause=traceback.format_exc(), fields={"module": err.name})
        except Exception as err:
            raise HandlerError("CAPSTAN_SERVING_MODEL_LOAD_FAILED", f"model_fn raised {type(err).__name__}", cause=traceback.format_exc())


# ---- serving ---------------------------------------------------------------------------------


def user_error(err, stage):
    """A handler's exception as a protocol error: 4xx for input it refuses, else the model failing."""
    if isinstance(err, HandlerError):
        return err
    status = getattr(err, "status_code", None)
    if isinstance(status, int) and 400 <= status < 500:
        return HandlerError("CAPSTAN_SERVING_INVALID_INPUT", str(err)[:500] or "invalid input", cause=traceback.format_exc())
    return HandlerError("CAPSTAN_SERVING_MODEL_ERROR", f"the model's {stage} failed", cause=traceback.format_exc())


def to_bytes(result, accept, stage):
    """An output_fn / transform_fn result as (bytes, content type); 424 when it is not something to send."""
    content_type = accept
    if isinstance(result, tuple) and len(result) == 2:
        result, content_type = result
    if isinstance(result, str):
        return result.encode("utf-8"), str(content_type)
    if isinstance(result, (bytes, bytearray, memoryview)):
        return bytes(result), str(content_type)
    raise HandlerError("CAPSTAN_SERVING_PYTHON_OUTPUT_INVALID",
                       f"{stage} returned a {type(result).__name__}, not str or bytes", fields={"returned": type(result).__name__})


def serialise(handlers, prediction, accept):
    try:
        result = handlers.output_fn(prediction, accept)
    except (TypeError, ValueError) as err:
        if handlers.output_fn is default_output_fn:
            raise HandlerError("CAPSTAN_SERVING_PYTHON_OUTPUT_INVALID",
                               f"the prediction cannot be serialised as {accept}: {str(err)[:200]}", cause=traceback.format_exc())
        raise user_error(err, "output_fn")
    except Exception as err:
        raise user_error(err, "output_fn")
    return to_bytes(result, accept, "output_fn")


def handle_batch(handlers, items, bodies):
    """Answers the requests of one frame; each request gets ("ok", bytes, ct) or ("err", HandlerError)."""
    out = [None] * len(items)
    started = time.perf_counter()
    if handlers.transform_fn is not None:
        for i, item in enumerate(items):
            try:
                try:
                    result = handlers.transform_fn(handlers.model, bodies[i], item["ct"], item["accept"])
                except Exception as err:
                    raise user_error(err, "transform_fn")
                out[i] = ("ok",) + to_bytes(result, item["accept"], "transform_fn")
            except HandlerError as err:
                out[i] = ("err", err)
        return out, (time.perf_counter() - started) * 1000
    inputs = {}
    for i, item in enumerate(items):
        try:
            inputs[i] = handlers.input_fn(bodies[i], item["ct"])
        except Exception as err:
            out[i] = ("err", user_error(err, "input_fn"))
    order = sorted(inputs)
    predictions = {}
    predict_started = time.perf_counter()
    if handlers.batched and order:
        try:
            predictions = dict(zip(order, predict_batch(handlers, [inputs[i] for i in order])))
        except Exception as err:
            if len(order) == 1:
                out[order[0]] = ("err", user_error(err, "predict_fn"))
            else:
                # One request's bad input must not fail the others merged with it: retry each alone.
                for i in order:
                    try:
                        predictions[i] = predict_batch(handlers, [inputs[i]])[0]
                    except Exception as one:
                        out[i] = ("err", user_error(one, "predict_fn"))
    else:
        for i in order:
            try:
                predictions[i] = handlers.predict_fn(inputs[i], handlers.model)
            except Exception as err:
                out[i] = ("err", user_error(err, "predict_fn"))
    model_ms = (time.perf_counter() - predict_started) * 1000
    for i, prediction in predictions.items():
        try:
            out[i] = ("ok",) + serialise(handlers, prediction, items[i]["accept"])
        except HandlerError as err:
            out[i] = ("err", err)
    return out, model_ms


def predict_batch(handlers, inputs):
    results = list(handlers.predict_fn(inputs, handlers.model))
    if len(results) != len(inputs):
        raise HandlerError("CAPSTAN_SERVING_MODEL_ERROR", "predict_fn must return one prediction per input when PREDICT_BATCH is set")
    return results


def wire_error(err):
    e = {"code": err.code, "detail": err.detail}
    if err.cause:
        e["cause"] = err.cause
    if err.fields:
        e["fields"] = err.fields
    return e


def main():
    model_dir, entry, interpreter = sys.argv[1], sys.argv[2], sys.argv[3]
    # Modules and distributions shipped inside the package count as installed.
    sys.path.insert(0, model_dir)
    try:
        check_requirements(model_dir, interpreter)
        handlers = Handlers(load_module(model_dir, entry, interpreter), model_dir)
    except HandlerError as err:
        write_frame({"t": "failed", "error": wire_error(err)})
        return 3
    except BaseException as err:  # noqa: BLE001 - anything at load is a load failure
        write_frame({"t": "failed", "error": {"code": "CAPSTAN_SERVING_MODEL_LOAD_FAILED", "detail": f"loading the model raised {type(err).__name__}",
                                              "cause": traceback.format_exc()}})
        return 3
    write_frame({"t": "ready", "batched": handlers.batched, "pid": os.getpid()})
    while True:
        frame = read_frame()
        if frame is None:
            return 0
        header, payload = frame
        items = header["items"]
        bodies, offset = [], 0
        for item in items:
            bodies.append(payload[offset:offset + item["n"]])
            offset += item["n"]
        results, model_ms = handle_batch(handlers, items, bodies)
        answers, chunks = [], []
        for r in results:
            if r[0] == "ok":
                answers.append({"ok": True, "ct": r[2], "n": len(r[1])})
                chunks.append(r[1])
            else:
                answers.append({"ok": False, "error": wire_error(r[1])})
        write_frame({"t": "result", "id": header["id"], "ms": model_ms, "items": answers}, b"".join(chunks))


if __name__ == "__main__":
    sys.exit(main())
