"""The client against a live Capstan server: CAPSTAN_URL and CAPSTAN_API_KEY (an admin key) must be set;
CAPSTAN_TEST_VIEWER_KEY is a viewer's key. test/python-client.test.ts starts the server and runs this."""
import json
import os
import shutil
import tempfile
import unittest

import capstan

URL = os.environ.get("CAPSTAN_URL")

SCORER = '''
def model_fn(model_dir):
    return {"offset": float(open(model_dir + "/offset.txt").read())}

def predict_fn(data, model):
    return {"sum": sum(data["values"]) + model["offset"]}
'''


@unittest.skipUnless(URL, "CAPSTAN_URL is not set: run through test/python-client.test.ts")
class TrackingTest(unittest.TestCase):
    def setUp(self):
        self.client = capstan.Client()
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
        while capstan.active_run():
            capstan.end_run()

    def run_doc(self, run_id):
        return self.client.json("GET", f"/api/v1/runs/{run_id}")

    def test_start_run_logs_params_metrics_tags_and_artifacts_and_ends_finished(self):
        with capstan.start_run("py-client", name="first", params={"seed": 7}, tags={"team": "fraud"}) as run:
            self.assertIs(capstan.active_run(), run)
            capstan.log_param("C", 1.0)
            capstan.log_params({"solver": "lbfgs", "balanced": True})
            for epoch in range(3):
                capstan.log_metric("loss", 1.0 / (epoch + 1), step=epoch)
            capstan.log_metrics({"auc": 0.91, "precision": 0.5}, step=2, timestamp=1700000000000)
            capstan.set_tag("stage", "trial")
            path = os.path.join(self.tmp, "notes.txt")
            with open(path, "w") as f:
                f.write("hello")
            os.makedirs(os.path.join(self.tmp, "plots"))
            with open(os.path.join(self.tmp, "plots", "curve.csv"), "w") as f:
                f.write("1,2\n")
            capstan.log_artifact(path)
            capstan.log_artifact(os.path.join(self.tmp, "plots"), artifact_path="figures")
        self.assertIsNone(capstan.active_run())
        doc = self.run_doc(run.id)
        self.assertEqual(doc["status"], "finished")
        self.assertEqual(doc["experiment"], "py-client")
        self.assertEqual(doc["params"], {"seed": "7", "C": "1", "solver": "lbfgs", "balanced": "true"})
        self.assertEqual(doc["tags"], {"team": "fraud", "stage": "trial"})
        self.assertEqual(doc["metrics"]["auc"], 0.91)
        history = self.client.json("GET", f"/api/v1/runs/{run.id}/metrics/loss")
        self.assertEqual([(p["step"], round(p["value"], 4)) for p in history], [(0, 1.0), (1, 0.5), (2, 0.3333)])
        auc = self.client.json("GET", f"/api/v1/runs/{run.id}/metrics/auc")
        self.assertEqual(auc[0]["timestamp"], 1700000000000)
        files = sorted(a["path"] for a in self.client.json("GET", f"/api/v1/runs/{run.id}/artifacts"))
        self.assertEqual(files, ["figures/curve.csv", "notes.txt"])

    def test_metrics_are_sent_in_batches(self):
        run = capstan.start_run("py-client", batch_size=500, flush_interval=0)
        for step in range(1200):
            run.log_metric("x", step * 0.5, step=step)
        self.assertEqual(len(run._buffer), 200, "two full batches went out, 200 points wait for the next")
        capstan.end_run()
        history = self.client.json("GET", f"/api/v1/runs/{run.id}/metrics/x")
        self.assertEqual(len(history), 1200)
        self.assertEqual(history[-1]["step"], 1199)

    def test_an_exception_in_the_with_block_ends_the_run_failed(self):
        with self.assertRaises(ZeroDivisionError):
            with capstan.start_run("py-client") as run:
                1 / 0
        self.assertEqual(self.run_doc(run.id)["status"], "failed")

    def test_end_run_with_a_status(self):
        run = capstan.start_run("py-client")
        capstan.end_run("killed")
        self.assertEqual(self.run_doc(run.id)["status"], "killed")

    def test_logging_without_a_run_is_an_error_naming_start_run(self):
        with self.assertRaises(capstan.CapstanError) as caught:
            capstan.log_metric("loss", 1.0)
        self.assertEqual(caught.exception.code, "CAPSTAN_REQUEST_INVALID")
        self.assertIn("start_run", caught.exception.detail)


@unittest.skipUnless(URL, "CAPSTAN_URL is not set: run through test/python-client.test.ts")
class RegistryAndServingTest(unittest.TestCase):
    def setUp(self):
        self.client = capstan.Client()
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def package(self, offset):
        path = os.path.join(self.tmp, f"pkg-{offset}")
        os.makedirs(path)
        with open(os.path.join(path, "inference.py"), "w") as f:
            f.write(SCORER)
        with open(os.path.join(path, "offset.txt"), "w") as f:
            f.write(str(offset))
        with open(os.path.join(path, "model.json"), "w") as f:
            json.dump({"name": "adder", "framework": "python", "entry": "inference.py"}, f)
        return path

    def test_register_model_from_a_run_then_invoke_each_variant(self):
        with capstan.start_run("py-client") as run:
            capstan.log_metric("auc", 0.93)
            v1 = capstan.register_model("py-adder", self.package(100), metrics={"auc": 0.93}, tags={"by": "client"})
        v2 = capstan.register_model("py-adder", self.package(200))
        self.assertEqual((v1["version"], v2["version"]), (1, 2))
        self.assertEqual(v1["metrics"], {"auc": 0.93})
        self.assertEqual(v1["lineage"]["runId"], run.id)
        self.assertEqual(v1["framework"], "python")
        for v in (1, 2):
            self.client.json("PUT", f"/api/v1/models/py-adder/versions/{v}/approval", {"status": "Approved", "comment": "test"})
        self.client.json("POST", "/api/v1/endpoints", {"name": "py-adder", "variants": [
            {"name": "blue", "model": "models:/py-adder/1"}, {"name": "green", "model": "models:/py-adder/2", "weight": 0}]})
        blue = capstan.invoke("py-adder", {"values": [1, 2]})
        self.assertEqual((blue.variant, blue.body), ("blue", {"sum": 103.0}))
        green = capstan.invoke("py-adder", {"values": [1, 2]}, target_variant="green")
        self.assertEqual((green.variant, green.body), ("green", {"sum": 203.0}))

    def test_a_server_error_carries_its_catalogue_code_status_and_fields(self):
        with self.assertRaises(capstan.CapstanError) as caught:
            capstan.invoke("no-such-endpoint", {"values": []})
        err = caught.exception
        self.assertEqual((err.code, err.status), ("CAPSTAN_SERVING_ENDPOINT_NOT_FOUND", 404))
        self.assertEqual(err.fields.get("endpoint"), "no-such-endpoint")
        with self.assertRaises(capstan.CapstanError) as caught:
            capstan.register_model("py-adder", self.tmp)
        self.assertEqual(caught.exception.code, "CAPSTAN_REGISTRY_PACKAGE_INVALID")

    def test_the_api_key_comes_from_the_arguments_or_the_environment(self):
        viewer = os.environ["CAPSTAN_TEST_VIEWER_KEY"]
        with self.assertRaises(capstan.CapstanError) as caught:
            capstan.start_run("py-client", api_key=viewer)
        self.assertEqual((caught.exception.code, caught.exception.status), ("CAPSTAN_AUTH_FORBIDDEN", 403))
        with self.assertRaises(capstan.CapstanError) as caught:
            capstan.start_run("py-client", api_key="")
        self.assertEqual(caught.exception.status, 401)

    def test_a_server_that_is_down_raises_server_unreachable_naming_the_url(self):
        with self.assertRaises(capstan.ServerUnreachableError) as caught:
            capstan.start_run("py-client", url="http://127.0.0.1:9")
        err = caught.exception
        self.assertEqual(err.code, "CAPSTAN_CLIENT_SERVER_UNREACHABLE")
        self.assertIn("cannot reach the Capstan server at http://127.0.0.1:9", str(err))


@unittest.skipUnless(URL, "CAPSTAN_URL is not set: run through test/python-client.test.ts")
class DecisionsTest(unittest.TestCase):
    DEFINITION = {
        "name": "py-scoring",
        "input": {"schema": {"type": "object", "required": ["customer", "amount"],
                             "properties": {"customer": {"type": "string"}, "amount": {"type": "number"}}},
                  "subject": "input.customer"},
        "thresholds": {"review": 0.5},
        "tasks": [{"name": "score", "type": "cel", "expression": "input.amount / 1000.0"}],
        "rules": {"engine": "cel", "rules": [{"name": "high", "when": "tasks.score >= thresholds.review", "outcome": "review", "reason": "score high"}],
                  "default": {"outcome": "approve"}, "output": {"score": "tasks.score"}},
    }

    def test_decide_returns_the_stored_decision_and_bad_input_raises_its_code(self):
        capstan.Client().json("POST", "/api/v1/decisions/usecases", {"definition": self.DEFINITION, "activate": True})
        low = capstan.decide("py-scoring", {"customer": "c1", "amount": 300})
        high = capstan.decide("py-scoring", {"customer": "c2", "amount": 900})
        self.assertEqual((low["outcome"], low["output"]), ("approve", {"score": 0.3}))
        self.assertEqual(high["outcome"], "review")
        stored = capstan.Client().json("GET", f"/api/v1/decisions/records/{high['id']}")
        self.assertEqual(stored["outcome"], "review")
        with self.assertRaises(capstan.CapstanError) as caught:
            capstan.decide("py-scoring", {"customer": "c3"})
        self.assertEqual((caught.exception.code, caught.exception.status), ("CAPSTAN_DECISIONS_INPUT_INVALID", 400))
        with self.assertRaises(capstan.CapstanError) as caught:
            capstan.decide("no-such-usecase", {})
        self.assertEqual(caught.exception.code, "CAPSTAN_DECISIONS_USECASE_NOT_FOUND")


if __name__ == "__main__":
    unittest.main()
