#!/usr/bin/env bash
# Screenshots of the MLflow UI on a search's store, as docs/mlflow.md shows them:
#   docs/mlflow_screenshots.sh sqlite:///$PWD/mlflow.db docs/images
# Needs `mlflow` (this project's) and headless Chromium (Debian: apt install chromium).
set -euo pipefail
store=${1:?usage: $0 TRACKING_URI OUTPUT_FOLDER}
output=${2:?usage: $0 TRACKING_URI OUTPUT_FOLDER}
port=${PORT:-5055}
url=http://127.0.0.1:$port
mkdir -p "$output"
mlflow server --backend-store-uri "$store" --host 127.0.0.1 --port "$port" --workers 1 \
    > "$output/.server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$output/.server.log"' EXIT
until curl -sf "$url/health" > /dev/null; do sleep 0.5; done

api() { curl -sf -X POST "$url/api/2.0/mlflow/$1" -H 'Content-Type: application/json' -d "$2"; }
experiment=$(curl -sf "$url/api/2.0/mlflow/experiments/get-by-name?experiment_name=${EXPERIMENT:-stagewise-nas}" \
    | python -c 'import json,sys; print(json.load(sys.stdin)["experiment"]["experiment_id"])')
parent=$(api runs/search "{\"experiment_ids\": [\"$experiment\"], \"filter\": \"tags.\`nas.method\` = 'stagewise'\", \"order_by\": [\"attributes.start_time DESC\"]}" \
    | python -c 'import json,sys; print(next(r["info"]["run_id"] for r in json.load(sys.stdin)["runs"] if not any(t["key"] == "mlflow.parentRunId" for t in r["data"].get("tags", []))))')
children=$(api runs/search "{\"experiment_ids\": [\"$experiment\"], \"filter\": \"tags.\`mlflow.parentRunId\` = '$parent'\"}" \
    | python -c 'import json,sys,urllib.parse; print(urllib.parse.quote(json.dumps([r["info"]["run_id"] for r in json.load(sys.stdin)["runs"]])))')

shot() {  # shot FILE URL: a 1600x1000 picture of the page once its scripts have settled
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1600,1000 \
        --virtual-time-budget=20000 --screenshot="$output/$1" "$2" 2> /dev/null
}
shot experiment_table.png "$url/#/experiments/$experiment/runs"
shot parent_run.png "$url/#/experiments/$experiment/runs/$parent"
shot parallel_coordinates.png "$url/#/compare-runs?runs=$children&experiments=%5B%22$experiment%22%5D"
echo "screenshots of experiment $experiment (search $parent) in $output"
