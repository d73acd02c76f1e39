"""A PEP 503 package index on 127.0.0.1 holding one pure-Python wheel made here (no network, no
build backend): the package index the environment step installs from in tests.

    python package_index.py --dir DIR --name NAME --version VERSION --port-file FILE

writes DIR/NAME-VERSION-py3-none-any.whl (a module NAME with `score(x) = 2 * x + 1`) and
DIR/simple/NAME/index.html, serves DIR on an ephemeral port, and writes the port to FILE once it
listens. Runs until killed.
"""

import argparse
import base64
import functools
import hashlib
import http.server
import os
import re
import zipfile


def record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def make_wheel(directory, name, version):
    module = re.sub(r"[-.]+", "_", name).lower()
    dist_info = f"{module}-{version}.dist-info"
    files = {
        f"{module}.py": b"def score(x):\n    return 2 * x + 1\n",
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: testkit\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [record_line(path, data) for path, data in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, wheel), "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    wheel = make_wheel(args.dir, args.name, args.version)
    project = re.sub(r"[-_.]+", "-", args.name).lower()
    os.makedirs(os.path.join(args.dir, "simple", project), exist_ok=True)
    with open(os.path.join(args.dir, "simple", project, "index.html"), "w") as page:
        page.write(f'<!DOCTYPE html><html><body><a href="../../{wheel}">{wheel}</a></body></html>\n')
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=args.dir)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
