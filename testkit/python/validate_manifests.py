"""Judge generated manifests the way a cluster would, offline.

Usage: validate_manifests.py --crds DIR --kube-version 1.33 FILE...

Every document of every FILE must pass:
- core kinds: kubernetes-validate in strict mode; a kind it has no schema for is a failure
  (the command line only warns and exits 0 there, which would let a removed API through);
- custom kinds: the openAPIV3Schema of the matching CRD found in --crds, with additionalProperties
  closed wherever the CRD does not set x-kubernetes-preserve-unknown-fields (the API server prunes
  unknown fields silently, so a typo would otherwise vanish without a word).

Prints one JSON report on stdout: {"checked": N, "failures": [{"file", "kind", "name", "error"}]}.
Exit status 0 when there is no failure, 1 otherwise, 2 for bad usage.
"""

import argparse
import copy
import glob
import json
import os
import sys

import jsonschema
import kubernetes_validate
import yaml


def load_crds(directory):
    """Map (group, version, kind) to the CRD's openAPIV3Schema."""
    schemas = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            for doc in yaml.safe_load_all(f):
                if not doc or doc.get("kind") != "CustomResourceDefinition":
                    continue
                spec = doc["spec"]
                for version in spec["versions"]:
                    schema = version.get("schema", {}).get("openAPIV3Schema")
                    if schema:
                        schemas[(spec["group"], version["name"], spec["names"]["kind"])] = schema
    return schemas


def closed(schema):
    """The schema with additionalProperties:false wherever it lists properties and allows nothing else."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if (
                node.get("type") == "object"
                and "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    # The API server handles these three itself; CRD schemas rarely list them at the root.
    root = schema.setdefault("properties", {})
    root.setdefault("apiVersion", {"type": "string"})
    root.setdefault("kind", {"type": "string"})
    root.setdefault("metadata", {"type": "object"})
    walk(schema)
    return schema


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--crds", required=True)
    parser.add_argument("--kube-version", default="1.33")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()

    crds = {key: closed(schema) for key, schema in load_crds(args.crds).items()}
    checked = 0
    failures = []
    for path in args.files:
        with open(path, encoding="utf-8") as f:
            documents = [d for d in yaml.safe_load_all(f) if d is not None]
        for doc in documents:
            checked += 1
            kind = doc.get("kind", "?")
            name = (doc.get("metadata") or {}).get("name", "?")
            api_version = doc.get("apiVersion", "")
            group, _, version = api_version.rpartition("/")
            try:
                if (group, version, kind) in crds:
                    jsonschema.validate(doc, crds[(group, version, kind)])
                else:
                    kubernetes_validate.validate(doc, args.kube_version, strict=True)
            except Exception as error:  # every kind of rejection is a finding, not a crash
                message = getattr(error, "message", None) or str(error)
                failures.append(
                    {"file": path, "kind": f"{api_version}/{kind}", "name": name, "error": message[:2000]}
                )
    json.dump({"checked": checked, "failures": failures}, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
