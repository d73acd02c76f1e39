"""Read YAML the way kubectl's YAML 1.1 reader does, and print what it saw as JSON.

Usage: yaml11_load.py FILE  ->  a JSON list with one entry per document.

PyYAML resolves plain scalars by YAML 1.1 rules (yes/no/on/off -> bool, 012 -> octal, 1_000 -> int,
12:30 -> sexagesimal int, 2024-01-01 -> date), as go-yaml v2 does under sigs.k8s.io/yaml. Values JSON
has no type for (dates, timestamps, bytes) are printed as {"$yaml11": TYPE, "value": TEXT}, so a caller
comparing against the strings it meant to write sees the difference.
"""

import json
import sys

import yaml


def tagged(value):
    return {"$yaml11": type(value).__name__, "value": str(value)}


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        documents = list(yaml.safe_load_all(f))
    json.dump(documents, sys.stdout, default=tagged, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
