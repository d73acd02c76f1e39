"""Registers a pyfunc model that needs a package the serving image does not hold: its predict
imports NAME (see package_index.py) and returns `score(x)` for each row's `x`. Its
requirements.txt names MLflow and NAME==VERSION; nothing calls predict here, so the package
need not be installed where this runs.

    python package_model.py --tracking-uri URI --artifacts DIR --name MODEL \
        --package NAME --version VERSION
Prints the registered version. The model is in Production and has alias `champion`.
"""

import argparse

import mlflow
from mlflow.tracking import MlflowClient


class NeedsPackage(mlflow.pyfunc.PythonModel):
    def __init__(self, module):
        self.module = module

    def predict(self, context, model_input, params=None):
        import importlib

        score = importlib.import_module(self.module).score
        return [score(float(x)) for x in model_input["x"]]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--artifacts", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--package", required=True)
    parser.add_argument("--version", required=True)
    args = parser.parse_args()
    mlflow.set_tracking_uri(args.tracking_uri)
    experiment = mlflow.create_experiment("needs-package", artifact_location=f"file://{args.artifacts}")
    module = args.package.replace("-", "_").lower()
    with mlflow.start_run(experiment_id=experiment):
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=NeedsPackage(module),
            pip_requirements=[f"mlflow=={mlflow.__version__}", f"{args.package}=={args.version}"],
            registered_model_name=args.name,
        )
    client = MlflowClient()
    version = info.registered_model_version
    client.transition_model_version_stage(args.name, version, "Production")
    client.set_registered_model_alias(args.name, "champion", version)
    print(version)


if __name__ == "__main__":
    main()
