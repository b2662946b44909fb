#!/bin/sh
# The fraud example end to end on the feature store, from a fresh clone (docs/features.md):
# definitions -> synthetic data -> ingestion -> point-in-time training set in the pipeline ->
# materialization -> an endpoint that reads the same features online.
# Settings (database, artifact store, online store) come from CAPSTAN_* as for any command.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
capstan=${CAPSTAN:-"node $here/../../bin/capstan.js"}
rows=${ROWS:-20000}
# An interpreter with numpy and scikit-learn (Debian installs python3-sklearn for /usr/bin/python3).
python=${PYTHON:-python3}
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT

$capstan features apply -f "$here/features.yaml"
"$python" "$here/generate_transactions.py" --out "$data" --rows "$rows"
$capstan features ingest card_activity --file "$data/card_activity.csv"
$capstan features ingest merchants --file "$data/merchants.csv"
$capstan artifacts put "$data/transactions.csv" datasets/fraud-features/transactions.csv
$capstan pipeline run -f "$here/features-pipeline.yaml" --param python="$python" --wait
$capstan features materialize card_activity
$capstan features materialize merchants
# The model is served by inference.py in the same interpreter.
sed "s|^    model: \(.*\)$|    model: \1\\n    interpreter: $python|" "$here/endpoint.yaml" > "$data/endpoint.yaml"
$capstan endpoints create fraud-features --file "$data/endpoint.yaml" 2>/dev/null || $capstan endpoints update fraud-features --file "$data/endpoint.yaml"
# The newest transaction, scored with its card and merchant features from the online store.
last=$(tail -n 1 "$data/transactions.csv")
instance=$(echo "$last" | awk -F, '{ printf "{\"card_id\":\"%s\",\"merchant_id\":\"%s\",\"amount_log\":%s,\"hour_sin\":%s,\"hour_cos\":%s,\"distance_km_log\":%s,\"foreign\":%s,\"card_present\":%s}", $1, $2, $4, $5, $6, $7, $8, $9 }')
$capstan endpoints invoke fraud-features --body "{\"instances\":[$instance]}"
