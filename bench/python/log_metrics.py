"""Client benchmark: logs N metric points through capstan-client (batched) and prints points/s."""
import json
import sys
import time

import capstan

n = int(sys.argv[1])
with capstan.start_run("bench-client", flush_interval=0) as run:
    started = time.perf_counter()
    for step in range(n):
        run.log_metric("loss", 1.0 / (step + 1), step=step)
    run.flush()
    elapsed = time.perf_counter() - started
print(json.dumps({"points": n, "seconds": elapsed, "per_s": n / elapsed}))
