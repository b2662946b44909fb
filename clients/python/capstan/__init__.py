"""Capstan's Python client: experiment tracking, the model registry and endpoint invocation.

    import capstan
    with capstan.start_run("fraud") as run:
        capstan.log_params({"C": 1.0})
        capstan.log_metric("loss", 0.31, step=1)
    capstan.register_model("fraud-detector", "model/", metrics={"auc": 0.95})
    capstan.invoke("fraud", {"instances": [...]}, target_variant="challenger").body
    capstan.decide("transaction-risk", {"customer": "c-42", "amount": 120.0})["outcome"]

The server and API key come from the arguments or CAPSTAN_URL / CAPSTAN_API_KEY. Errors are
CapstanError with the server's catalogue code; a server that does not answer raises
ServerUnreachableError (code CAPSTAN_CLIENT_SERVER_UNREACHABLE)."""
from .client import Client, Invocation
from .errors import CapstanError, ServerUnreachableError
from .tracking import (Run, active_run, decide, end_run, invoke, log_artifact, log_metric, log_metrics, log_param, log_params,
                       register_model, set_tag, set_tags, start_run)

__version__ = "0.1.0"
__all__ = ["Client", "Invocation", "CapstanError", "ServerUnreachableError", "Run", "active_run", "decide", "end_run", "invoke",
           "log_artifact", "log_metric", "log_metrics", "log_param", "log_params", "register_model", "set_tag", "set_tags",
           "start_run", "__version__"]
