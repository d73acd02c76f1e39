#!/usr/bin/env bash
# The main job on embedded defaults, from nothing:
#   1. MLflow trains an ElasticNet on synthetic wine-quality data and registers it in a SQLite
#      registry (version 1 in Production, alias champion);
#   2. `mlflow-gitops sync` mirrors it to a local artifact store, renders the manifests and commits
#      them to a local git repository (a bare one, created on the way);
#   3. the commit and the tree are shown.
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
