# Sourced, not run: private podman configuration for this project, so that nothing under /etc
# is edited (../shared/research/oci-probe.md has why each setting is needed on this machine).
#
#   source scripts/podman-env.sh
#
# Sets CONTAINERS_CONF and CONTAINERS_STORAGE_CONF to files under $MLFLOW_GITOPS_PODMAN_DIR
# (default ~/.cache/mlflow-gitops/podman), and MLFLOW_GITOPS_IMAGE_PREFIX (default
# localhost/mlflow-gitops). testkit's container helpers use the same directory.
MLFLOW_GITOPS_PODMAN_DIR="${MLFLOW_GITOPS_PODMAN_DIR:-${HOME:-/root}/.cache/mlflow-gitops/podman}"
export MLFLOW_GITOPS_PODMAN_DIR
export MLFLOW_GITOPS_IMAGE_PREFIX="${MLFLOW_GITOPS_IMAGE_PREFIX:-localhost/mlflow-gitops}"
mkdir -p "$MLFLOW_GITOPS_PODMAN_DIR"
# crun cannot run on this kernel's hybrid cgroups: runc. No CAP_SYS_RESOURCE: explicit ulimits
# no higher than the hard limits (podman lowers its own nproc limit to 32768). Host network:
# no bridge, no iptables changes, and servers on 127.0.0.1 are reachable.
cat > "$MLFLOW_GITOPS_PODMAN_DIR/containers.conf" <<EOF
[containers]
netns = "host"
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
cat > "$MLFLOW_GITOPS_PODMAN_DIR/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$MLFLOW_GITOPS_PODMAN_DIR/storage"
runroot = "$MLFLOW_GITOPS_PODMAN_DIR/run"
EOF
export CONTAINERS_CONF="$MLFLOW_GITOPS_PODMAN_DIR/containers.conf"
export CONTAINERS_STORAGE_CONF="$MLFLOW_GITOPS_PODMAN_DIR/storage.conf"
