"""Build an MLflow Model Registry with MLflow's own client, then report what MLflow says about it.

The Rust tests use the report as their expected values: nothing here computes an answer that MLflow's
client does not give itself (download URIs come from `get_model_version_download_uri`, `runs:/` from
MLflow's RunsArtifactRepository, logged models from `get_logged_model`).

Usage: python mlflow_scenario.py SCENARIO.json  (writes the report as JSON to stdout)

Scenario (all keys but `tracking_uri`, `artifact_root` and `models` optional):
{
  "tracking_uri": "sqlite:////abs/mlflow.db" | "mysql+pymysql://root@127.0.0.1:3306/db" | "postgresql://...",
  "artifact_root": "/abs/artifacts",          # the experiment's artifact location (a path or s3://...)
  "work_dir": "/abs/work",                     # where plain-path and mlflow-artifacts sources are written
  "models": [
    {"name": "wine", "tags": {"team": "a"}, "prompt": false,
     "versions": [
       {"source": {"kind": "logged_model"}, "stage": "Production", "archive_existing": false,
        "aliases": ["champion"], "tags": {"k": "v"}, "delete": false}
     ]}
  ]
}
Source kinds: logged_model (MLflow 3 `log_model` + `register_model`: source models:/m-...),
run_artifacts_register (`register_model("runs:/...")` on a run holding MLmodel: source is the run's URI),
runs_uri (`create_model_version(source="runs:/<run>/model")`: kept verbatim), path (a plain local path),
file_uri (file:// URI), s3 ({"uri": "s3://..."}: verbatim), mlflow_artifacts ({"path": "1/x/model"}:
files are written to <work_dir>/mlartifacts/<path>, source mlflow-artifacts:/<path>),
explicit ({"uri": "..."}: any string, verbatim).

A prompt model (`"prompt": {"template": "..."}`) is registered with mlflow.genai.register_prompt.
Per-step failures (MLflow refusing a name, a case-insensitive collision on MySQL) are reported in
`errors`, never raised, so a test can assert on what MLflow itself accepted.
"""

import json
import os
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

import mlflow  # noqa: E402
import numpy as np  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.store.artifact.runs_artifact_repo import RunsArtifactRepository  # noqa: E402
from mlflow.utils.file_utils import path_to_local_file_uri  # noqa: E402
from sklearn.linear_model import ElasticNet  # noqa: E402

PIP_REQUIREMENTS = ["scikit-learn", "mlflow"]  # explicit, so MLflow does not spend seconds inferring them


def tiny_model(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(32, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + rng.normal(scale=0.1, size=32)
    return ElasticNet(alpha=0.01, random_state=0).fit(x, y)


class Builder:
    def __init__(self, scenario):
        self.scenario = scenario
        self.client = MlflowClient()
        self.work_dir = scenario.get("work_dir") or tempfile.mkdtemp(prefix="mlflow-scenario-")
        self.errors = []
        self.seed = 0
        self._saved_model = None
        existing = mlflow.get_experiment_by_name("scenario")  # a registry being extended
        self.experiment_id = existing.experiment_id if existing else mlflow.create_experiment(
            "scenario", artifact_location=scenario["artifact_root"]
        )
        mlflow.set_experiment(experiment_id=self.experiment_id)

    def saved_model_dir(self):
        """One model directory on disk, shared by the source kinds that only need files."""
        if self._saved_model is None:
            path = os.path.join(self.work_dir, "saved-model")
            if not os.path.exists(path):  # kept from an earlier run when a registry is extended
                mlflow.sklearn.save_model(tiny_model(0), path, pip_requirements=PIP_REQUIREMENTS)
            self._saved_model = path
        return self._saved_model

    def create_version(self, name, source):
        kind = source["kind"]
        self.seed += 1
        if kind == "logged_model":
            with mlflow.start_run():
                info = mlflow.sklearn.log_model(
                    tiny_model(self.seed), name="model", pip_requirements=PIP_REQUIREMENTS
                )
            return mlflow.register_model(info.model_uri, name)
        if kind in ("run_artifacts_register", "runs_uri"):
            with mlflow.start_run() as run:
                mlflow.log_artifacts(self.saved_model_dir(), "model")
            uri = f"runs:/{run.info.run_id}/model"
            if kind == "run_artifacts_register":
                return mlflow.register_model(uri, name)
            return self.client.create_model_version(name, uri, run_id=run.info.run_id)
        if kind == "path":
            return self.client.create_model_version(name, self.saved_model_dir())
        if kind == "file_uri":
            return self.client.create_model_version(name, path_to_local_file_uri(self.saved_model_dir()))
        if kind == "mlflow_artifacts":
            dest = os.path.join(self.work_dir, "mlartifacts", source["path"])
            if not os.path.exists(dest):
                mlflow.sklearn.save_model(tiny_model(self.seed), dest, pip_requirements=PIP_REQUIREMENTS)
            return self.client.create_model_version(name, "mlflow-artifacts:/" + source["path"])
        if kind in ("s3", "explicit"):
            return self.client.create_model_version(name, source["uri"])
        raise ValueError(f"unknown source kind {kind!r}")

    def build_model(self, model):
        name = model["name"]
        if model.get("prompt"):
            mlflow.genai.register_prompt(name=name, template=model["prompt"]["template"])
            return
        if self.client.search_registered_models(f"name = '{escape(name)}'"):
            for key, value in (model.get("tags") or {}).items():
                self.client.set_registered_model_tag(name, key, value)
        else:
            self.client.create_registered_model(name, tags=model.get("tags") or None)
        created = []
        for spec in model.get("versions", []):
            mv = self.create_version(name, spec.get("source", {"kind": "logged_model"}))
            created.append((mv.version, spec))
            for key, value in (spec.get("tags") or {}).items():
                self.client.set_model_version_tag(name, mv.version, key, value)
        for version, spec in created:
            if spec.get("stage"):
                self.client.transition_model_version_stage(
                    name, version, spec["stage"], archive_existing_versions=spec.get("archive_existing", False)
                )
        for version, spec in created:
            for alias in spec.get("aliases", []):
                self.client.set_registered_model_alias(name, alias, version)
        for version, spec in created:
            if spec.get("delete"):
                self.client.delete_model_version(name, version)

    def build(self):
        for model in self.scenario["models"]:
            try:
                self.build_model(model)
            except Exception as exc:  # reported, so the test sees what MLflow refused
                self.errors.append({"model": model["name"], "error": f"{type(exc).__name__}: {exc}"})

    def resolved(self, download_uri):
        """Where the files really are, by MLflow's own resolution code."""
        uri = download_uri
        if uri.startswith("runs:/"):
            uri = RunsArtifactRepository.get_underlying_uri(uri)
        elif uri.startswith("models:/m-"):
            uri = self.client.get_logged_model(uri[len("models:/"):]).artifact_location
        # MLflow stores bare paths when an artifact root has no scheme; the reader reports file:// URIs.
        return path_to_local_file_uri(uri) if uri.startswith("/") else uri

    def report(self):
        versions, models = [], []
        for rm in self.client.search_registered_models(max_results=1000):
            latest = self.client.get_latest_versions(rm.name, stages=["Staging", "Production"])
            models.append({
                "name": rm.name,
                "tags": dict(rm.tags),
                "aliases": {alias: str(version) for alias, version in (rm.aliases or {}).items()},
                # MLflow's own answer to "which version serves this stage" (highest version wins).
                "latest": {mv.current_stage: int(mv.version) for mv in latest},
            })
            for mv in self.client.search_model_versions(f"name = '{escape(rm.name)}'", max_results=10000):
                full = self.client.get_model_version(mv.name, mv.version)
                download_uri = self.client.get_model_version_download_uri(mv.name, mv.version)
                versions.append({
                    "name": full.name,
                    "version": int(full.version),
                    "stage": full.current_stage,
                    "aliases": sorted(full.aliases),
                    "tags": dict(full.tags),
                    "source": full.source,
                    "run_id": full.run_id,
                    "status": full.status,
                    "last_updated_timestamp": full.last_updated_timestamp,
                    "download_uri": download_uri,
                    "resolved_uri": self.resolved(download_uri),
                })
        versions.sort(key=lambda v: (v["name"], v["version"]))
        models.sort(key=lambda m: m["name"])
        return {
            "mlflow_version": mlflow.__version__,
            "tracking_uri": self.scenario["tracking_uri"],
            "work_dir": self.work_dir,
            "models": models,
            "versions": versions,
            "errors": self.errors,
        }


def escape(name):
    return name.replace("\\", "\\\\").replace("'", "\\'")


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        scenario = json.load(f)
    mlflow.set_tracking_uri(scenario["tracking_uri"])
    mlflow.set_registry_uri(scenario["tracking_uri"])
    builder = Builder(scenario)
    builder.build()
    json.dump(builder.report(), sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
