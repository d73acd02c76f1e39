#!/usr/bin/env bash
# The main job on embedded defaults, from nothing:
#   1. MLflow trains an ElasticNet on synthetic wine-quality data and registers it in a SQLite
#      registry (version 1 in Production, alias champion);
#   2. `mlflow-gitops sync` mirrors it to a local artifact store, renders the manifests and commits
#      them to a local git repository (a bare one, created on the way);
#   3. the commit and the tree are shown;
#   4. the model answers a prediction: MLflow's scoring server serves the mirror the committed
#      Deployment points at, and the seed's two rows get the model's own predictions. No container
#      runtime is needed: the venv holds the pinned MLflow and scikit-learn of the serving image
#      (images/serving/requirements.txt), and `mlflow models serve` runs there as in the pod.
# Usage: bash scripts/quickstart.sh [DEMO_DIR]   (default: ./demo, replaced on every run)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
demo=$(mkdir -p "${1:-$root/demo}" && cd "${1:-$root/demo}" && pwd)
venv=${MLFLOW_GITOPS_VENV:-$HOME/.cache/mlflow-gitops/venv}

if [ ! -x "$venv/bin/python" ]; then
    echo "== creating the Python venv with the pinned MLflow ($venv; about 2 minutes)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet -r "$root/testkit/python/requirements.txt"
fi

rm -rf "${demo:?}"/*
echo "== MLflow: train and register ElasticnetWineModel2 in sqlite:///$demo/mlflow.db"
"$venv/bin/python" "$root/testkit/python/wine_model.py" \
    --tracking-uri "sqlite:///$demo/mlflow.db" --artifacts "$demo/mlruns" --report "$demo/model.json" \
    2>&1 | grep -v -e Warning -e warnings.warn || true

echo "== mlflow-gitops sync"
cd "$root"
cargo run --quiet -p examples --bin mlflow-gitops -- sync \
    --registry "sqlite:///$demo/mlflow.db" \
    --mirror "$demo/mirror" \
    --repo "$demo/gitops.git" \
    --work-dir "$demo/work" \
    --namespace demo \
    --push

echo "== the commit"
git --git-dir "$demo/gitops.git" log --stat -1 main
echo "== the mirror"
find "$demo/mirror" -type f | sed "s|$demo/||" | sort

echo "== the model answers (mlflow models serve on the mirror the Deployment names)"
deployment=$(git --git-dir "$demo/gitops.git" ls-tree -r --name-only main | grep '/production/deployment.yaml$' | head -1)
model_uri=$(git --git-dir "$demo/gitops.git" show "main:$deployment" \
    | sed -n 's/^ *mlflow-gitops.io\/model-uri: *//p' | tr -d '"' | head -1)
port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PATH="$venv/bin:$PATH" "$venv/bin/mlflow" models serve -m "$model_uri" -h 127.0.0.1 -p "$port" --env-manager local \
    > "$demo/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$port/ping" >/dev/null && break
    kill -0 "$server" 2>/dev/null || { cat "$demo/serve.log"; exit 1; }
    sleep 0.5
done
input=$("$venv/bin/python" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["input"]))' "$demo/model.json")
answer=$(curl -sf -H 'Content-Type: application/json' -d "$input" "http://127.0.0.1:$port/invocations")
echo "POST /invocations $input"
echo "-> $answer"
"$venv/bin/python" - "$demo/model.json" "$answer" <<'PY'
import json, sys
want = json.load(open(sys.argv[1]))["predictions"]
got = json.loads(sys.argv[2])["predictions"]
assert len(got) == len(want) and all(abs(g - w) < 1e-9 for g, w in zip(got, want)), (got, want)
print(f"the served predictions equal the model's own: {got}")
PY
