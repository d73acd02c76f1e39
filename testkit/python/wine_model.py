"""Train an ElasticNet on synthetic wine-quality data and register it with MLflow.

Usage: wine_model.py --tracking-uri URI --artifacts DIR --report FILE [--name NAME]

The data has the 11 columns of the UCI wine-quality set, drawn from plausible ranges, and a quality
score that depends on them linearly plus noise (seeded: the same model every run). The model is
logged with mlflow.sklearn, registered as NAME, moved to Production and given the alias champion.
The report (JSON) holds the name, the version, a sample input in the dataframe_split layout that
`mlflow models serve` accepts, and the model's own predictions for it.
"""

import argparse
import json
import os
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

COLUMNS = [
    ("fixed acidity", 4.6, 15.9),
    ("volatile acidity", 0.12, 1.58),
    ("citric acid", 0.0, 1.0),
    ("residual sugar", 0.9, 15.5),
    ("chlorides", 0.012, 0.611),
    ("free sulfur dioxide", 1.0, 72.0),
    ("total sulfur dioxide", 6.0, 289.0),
    ("density", 0.990, 1.004),
    ("pH", 2.74, 4.01),
    ("sulphates", 0.33, 2.0),
    ("alcohol", 8.4, 14.9),
]


def wine_data(rows, seed):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.uniform(lo, hi, rows) for name, lo, hi in COLUMNS})
    quality = (
        3.0
        + 0.35 * frame["alcohol"]
        - 1.2 * frame["volatile acidity"]
        + 0.8 * frame["sulphates"]
        - 0.002 * frame["total sulfur dioxide"]
        + rng.normal(0.0, 0.3, rows)
    )
    return frame, quality


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--artifacts", required=True)
    parser.add_argument("--report", required=True)
    parser.add_argument("--name", default="ElasticnetWineModel2")
    args = parser.parse_args()

    import mlflow
    from mlflow.models import infer_signature
    from sklearn.linear_model import ElasticNet

    mlflow.set_tracking_uri(args.tracking_uri)
    experiment = "wine-quality"
    if mlflow.get_experiment_by_name(experiment) is None:
        mlflow.create_experiment(experiment, artifact_location="file://" + os.path.abspath(args.artifacts))
    mlflow.set_experiment(experiment)

    train_x, train_y = wine_data(500, seed=42)
    sample, _ = wine_data(5, seed=7)
    with mlflow.start_run():
        model = ElasticNet(alpha=0.05, l1_ratio=0.5, random_state=42).fit(train_x, train_y)
        mlflow.log_params({"alpha": 0.05, "l1_ratio": 0.5})
        info = mlflow.sklearn.log_model(
            sk_model=model,
            name="model",
            registered_model_name=args.name,
            signature=infer_signature(train_x, model.predict(train_x)),
            input_example=sample.head(2),
        )
    version = str(info.registered_model_version)
    client = mlflow.MlflowClient()
    client.transition_model_version_stage(args.name, version, "Production")
    client.set_registered_model_alias(args.name, "champion", version)

    report = {
        "name": args.name,
        "version": version,
        "input": {"dataframe_split": {"columns": list(sample.columns), "data": sample.values.tolist()}},
        "predictions": [float(p) for p in model.predict(sample)],
    }
    with open(args.report, "w", encoding="utf-8") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main()
