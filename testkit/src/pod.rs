//! Runs a generated pod the way the kubelet would: every container from its image with podman
//! (`testkit::podman`'s private configuration), with the command, args and env exactly as
//! rendered, `secretKeyRef`s resolved from test Secrets (a missing key is an error, as in
//! Kubernetes, unless the reference is optional), the pod's and container's security context
//! (user, group, read-only root filesystem, no new privileges, dropped capabilities), emptyDir
//! volumes (tmpfs for `medium: Memory`), init containers run to completion first, and readiness
//! decided by the rendered startup and readiness probes on the named port.
//!
//! Pods share the host's network, as the probe says: a container listens on its
//! `containerPort` at 127.0.0.1. Only one pod runs at a time on the machine (a file lock), so two
//! tests rendering the same port never collide.
//!
//! What is refused rather than approximated: `configMapKeyRef`, `fieldRef` other than the
//! namespace, the pod's name and IP, and volume kinds other than emptyDir, secret and
//! persistentVolumeClaim (a fresh directory).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::podman::{podman, run};

/// Secrets by name, each a map of key to value.
pub type Secrets = BTreeMap<String, BTreeMap<String, String>>;

/// A container's environment, in order.
type Env = Vec<(String, String)>;

/// A running pod; its containers are removed when it is dropped.
pub struct Pod {
    name: String,
    containers: Vec<Container>,
    /// Where the pod's volumes live on the host.
    _volumes: tempfile::TempDir,
    _ports: PortClaim,
    _lock: Arc<File>,
}

/// One started container and how to probe it.
struct Container {
    id: String,
    name: String,
    ports: BTreeMap<String, u16>,
    startup: Option<Probe>,
    readiness: Option<Probe>,
}

/// An httpGet or tcpSocket probe with the kubelet's budget.
#[derive(Clone, Debug)]
struct Probe {
    path: Option<String>,
    port: u16,
    period: Duration,
    failure_threshold: u32,
}

impl Pod {
    /// Starts the pod whose spec (a Deployment's `spec.template.spec`, or a Pod's `spec`) is
    /// `spec`, in `namespace`. Init containers run to completion first; an error names the
    /// container and carries its log.
    pub fn start(
        name: &str,
        namespace: &str,
        spec: &Value,
        secrets: &Secrets,
    ) -> Result<Pod, String> {
        Pod::start_with_services(name, namespace, spec, secrets, &[])
    }

    /// [`start`](Self::start), with the cluster DNS names of `services` in `namespace`
    /// (`<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc`, `<svc>.<ns>.svc.cluster.local`) resolving to
    /// 127.0.0.1 inside the containers, where the other pods of the test listen.
    pub fn start_with_services(
        name: &str,
        namespace: &str,
        spec: &Value,
        secrets: &Secrets,
        services: &[&str],
    ) -> Result<Pod, String> {
        let lock = pod_lock()?;
        let ports = PortClaim::take(spec)?;
        let volumes = tempfile::Builder::new()
            .prefix("testkit-pod-")
            .tempdir()
            .map_err(|e| format!("pod volumes: {e}"))?;
        let mounts = volumes_of(spec, volumes.path(), secrets)?;
        let env_dir = volumes.path().to_owned();
        let context = Context {
            pod: name,
            namespace,
            spec,
            secrets,
            mounts: &mounts,
            env_dir: &env_dir,
            hosts: service_hosts(namespace, services),
        };
        for (i, init) in list(spec, "initContainers").iter().enumerate() {
            context.run_to_completion(init, &format!("{name}-init-{i}"))?;
        }
        let mut pod = Pod {
            name: name.to_owned(),
            containers: Vec::new(),
            _volumes: volumes,
            _ports: ports,
            _lock: lock,
        };
        for container in list(spec, "containers") {
            let cname = format!("{name}-{}", str_at(container, "name"));
            let args = context.podman_args(container, &cname, true)?;
            let out = run_podman(&args)?;
            if !out.status.success() {
                return Err(format!(
                    "container {cname} did not start: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            let ports = named_ports(container);
            pod.containers.push(Container {
                id: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
                name: cname,
                startup: probe(container, "startupProbe", &ports)?,
                readiness: probe(container, "readinessProbe", &ports)?,
                ports,
            });
        }
        Ok(pod)
    }

    /// Waits until every container passed its startup probe (within the probe's budget,
    /// `failureThreshold × periodSeconds`) and then its readiness probe, polling every
    /// half-second as a patient kubelet would. An exited container or a spent budget is an error
    /// with the container's log.
    pub fn wait_ready(&self) -> Result<(), String> {
        for c in &self.containers {
            for probe in [&c.startup, &c.readiness].into_iter().flatten() {
                let budget = probe.period * probe.failure_threshold.max(1);
                let started = Instant::now();
                loop {
                    if probe.passes() {
                        break;
                    }
                    if !self.running(&c.id) {
                        return Err(format!("{} exited:\n{}", c.name, self.logs_of(&c.id)));
                    }
                    if started.elapsed() > budget {
                        return Err(format!(
                            "{} failed its probe on port {} for {budget:?}:\n{}",
                            c.name,
                            probe.port,
                            self.logs_of(&c.id)
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        }
        Ok(())
    }

    /// Runs `container` (a container spec, as in a Job's pod template) to completion with the
    /// same rules as a pod's containers, the cluster names of `services` resolving to 127.0.0.1;
    /// its standard output, or an error with its log when it fails.
    pub fn job(
        name: &str,
        namespace: &str,
        container: &Value,
        secrets: &Secrets,
        services: &[&str],
    ) -> Result<String, String> {
        let _lock = pod_lock()?;
        let dir = tempfile::Builder::new()
            .prefix("testkit-job-")
            .tempdir()
            .map_err(|e| format!("job {name}: {e}"))?;
        let spec = serde_json::json!({ "containers": [container] });
        let context = Context {
            pod: name,
            namespace,
            spec: &spec,
            secrets,
            mounts: &BTreeMap::new(),
            env_dir: dir.path(),
            hosts: service_hosts(namespace, services),
        };
        context.run_to_completion(container, name)
    }

    /// The host port of a container's named port.
    pub fn port(&self, container: &str, name: &str) -> Option<u16> {
        let cname = format!("{}-{container}", self.name);
        self.containers
            .iter()
            .find(|c| c.name == cname)
            .and_then(|c| c.ports.get(name).copied())
    }

    /// Every container's log, for failure messages.
    pub fn logs(&self) -> String {
        self.containers
            .iter()
            .map(|c| format!("--- {}\n{}", c.name, self.logs_of(&c.id)))
            .collect()
    }

    fn running(&self, id: &str) -> bool {
        let out = run(&["inspect", "--format", "{{.State.Running}}", id]);
        String::from_utf8_lossy(&out.stdout).trim() == "true"
    }

    fn logs_of(&self, id: &str) -> String {
        let out = run(&["logs", "--tail", "200", id]);
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = run(&["rm", "--force", "--time", "2", &c.id]);
        }
    }
}

impl Probe {
    fn passes(&self) -> bool {
        match &self.path {
            Some(path) => http_get_ok(self.port, path),
            None => std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok(),
        }
    }
}

/// What the podman arguments of a container are made from.
struct Context<'a> {
    pod: &'a str,
    namespace: &'a str,
    spec: &'a Value,
    secrets: &'a Secrets,
    mounts: &'a BTreeMap<String, Mount>,
    /// Where the containers' env files are written (the pod's private directory).
    env_dir: &'a Path,
    /// Names that resolve to 127.0.0.1 in the containers.
    hosts: Vec<String>,
}

/// A volume on the host.
enum Mount {
    Dir(PathBuf),
    Tmpfs,
}

impl Context<'_> {
    /// `podman run` arguments for `container`, and the environment podman passes into it (values
    /// travel through podman's environment, never on its command line).
    fn podman_args(
        &self,
        container: &Value,
        cname: &str,
        detach: bool,
    ) -> Result<Vec<String>, String> {
        let image = str_at(container, "image");
        let mut args: Vec<String> = vec![
            "run".into(),
            "--pull=never".into(),
            "--name".into(),
            cname.into(),
        ];
        args.push(if detach {
            "--detach".into()
        } else {
            "--rm".into()
        });
        let _ = run(&["rm", "--force", cname]);
        for host in &self.hosts {
            args.push(format!("--add-host={host}:127.0.0.1"));
        }
        let pod_security = self.spec.get("securityContext");
        let security = container.get("securityContext");
        let field = |name: &str| {
            security
                .and_then(|s| s.get(name))
                .or_else(|| pod_security.and_then(|s| s.get(name)))
        };
        let user = field("runAsUser").and_then(Value::as_i64);
        let group = field("runAsGroup").and_then(Value::as_i64);
        if let Some(user) = user {
            args.push("--user".into());
            args.push(match group {
                Some(group) => format!("{user}:{group}"),
                None => user.to_string(),
            });
        }
        if field("runAsNonRoot").and_then(Value::as_bool) == Some(true) && user.is_none() {
            let out = run(&["image", "inspect", "--format", "{{.Config.User}}", image]);
            let image_user = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            let uid = image_user.split(':').next().unwrap_or_default();
            if uid.is_empty() || uid == "0" || uid.parse::<u32>().is_err() {
                return Err(format!(
                    "{cname}: runAsNonRoot, but image {image} runs as {image_user:?}: the kubelet refuses it"
                ));
            }
        }
        if let Some(groups) = pod_security
            .and_then(|s| s.get("fsGroup"))
            .and_then(Value::as_i64)
        {
            args.push(format!("--group-add={groups}"));
        }
        if security
            .and_then(|s| s.get("readOnlyRootFilesystem"))
            .and_then(Value::as_bool)
            == Some(true)
        {
            // Podman would add writable tmpfs mounts on /tmp, /run and /var/tmp; the kubelet adds none.
            args.push("--read-only".into());
            args.push("--read-only-tmpfs=false".into());
        }
        if security
            .and_then(|s| s.get("allowPrivilegeEscalation"))
            .and_then(Value::as_bool)
            == Some(false)
        {
            args.push("--security-opt=no-new-privileges".into());
        }
        let drops = security
            .and_then(|s| s.pointer("/capabilities/drop"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str);
        for cap in drops {
            args.push(format!("--cap-drop={cap}"));
        }
        if let Some(dir) = container.get("workingDir").and_then(Value::as_str) {
            args.push(format!("--workdir={dir}"));
        }
        for mount in list(container, "volumeMounts") {
            let name = str_at(mount, "name");
            let path = str_at(mount, "mountPath");
            let read_only = mount.get("readOnly").and_then(Value::as_bool) == Some(true);
            match self.mounts.get(name) {
                Some(Mount::Dir(dir)) => {
                    let dir = match mount.get("subPath").and_then(Value::as_str) {
                        Some(sub) => dir.join(sub),
                        None => dir.clone(),
                    };
                    std::fs::create_dir_all(&dir).map_err(|e| format!("volume {name}: {e}"))?;
                    let ro = if read_only { ":ro" } else { "" };
                    args.push(format!("--volume={}:{path}{ro}", dir.display()));
                }
                Some(Mount::Tmpfs) => args.push(format!(
                    "--mount=type=tmpfs,destination={path},tmpfs-mode=1777"
                )),
                None => {
                    return Err(format!(
                        "{cname}: volumeMount {name} names no volume of the pod"
                    ));
                }
            }
        }
        let env = self.env_of(container, cname)?;
        // Values go through a file only podman reads: neither on its command line (where `ps`
        // shows them) nor in its own environment (where a container's PATH or HOME would change
        // how podman runs).
        let env_file = self.env_dir.join(format!("{cname}.env"));
        write_env_file(&env_file, &env).map_err(|e| format!("{cname}: {e}"))?;
        args.push(format!("--env-file={}", env_file.display()));
        // The kubelet expands $(VAR) in command and args from the container's environment.
        let expand_all = |key: &str| -> Vec<String> {
            list(container, key)
                .iter()
                .filter_map(Value::as_str)
                .map(|text| expand(text, &env))
                .collect()
        };
        let command = expand_all("command");
        if !command.is_empty() {
            args.push(format!(
                "--entrypoint={}",
                serde_json::to_string(&command).expect("a JSON array")
            ));
        }
        args.push(image.to_owned());
        args.extend(expand_all("args"));
        Ok(args)
    }

    /// Runs `container` as `cname` until it exits: its standard output, or an error naming it
    /// with its log when it fails.
    fn run_to_completion(&self, container: &Value, cname: &str) -> Result<String, String> {
        let out = run_podman(&self.podman_args(container, cname, false)?)?;
        if !out.status.success() {
            return Err(format!(
                "container {cname} failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The container's environment, in order, with every reference resolved.
    fn env_of(&self, container: &Value, cname: &str) -> Result<Env, String> {
        let mut env = Vec::new();
        for from in list(container, "envFrom") {
            if let Some(secret) = from.pointer("/secretRef/name").and_then(Value::as_str) {
                let optional =
                    from.pointer("/secretRef/optional").and_then(Value::as_bool) == Some(true);
                match self.secrets.get(secret) {
                    Some(values) => env.extend(values.iter().map(|(k, v)| (k.clone(), v.clone()))),
                    None if optional => {}
                    None => {
                        return Err(format!("{cname}: envFrom secret {secret:?} does not exist"));
                    }
                }
            } else {
                return Err(format!(
                    "{cname}: envFrom {from} is not supported by testkit::pod"
                ));
            }
        }
        for var in list(container, "env") {
            let name = str_at(var, "name").to_owned();
            if let Some(value) = var.get("value").and_then(Value::as_str) {
                let value = expand(value, &env);
                env.push((name, value));
                continue;
            }
            let Some(from) = var.get("valueFrom") else {
                env.push((name, String::new()));
                continue;
            };
            if let Some(reference) = from.get("secretKeyRef") {
                let secret = str_at(reference, "name");
                let key = str_at(reference, "key");
                let optional = reference.get("optional").and_then(Value::as_bool) == Some(true);
                match self.secrets.get(secret).and_then(|s| s.get(key)) {
                    Some(value) => env.push((name, value.clone())),
                    None if optional => {}
                    None => {
                        return Err(format!(
                            "{cname}: env {name}: secret {secret:?} has no key {key:?} (the kubelet would not start the container)"
                        ));
                    }
                }
            } else if let Some(path) = from.pointer("/fieldRef/fieldPath").and_then(Value::as_str) {
                let value = match path {
                    "metadata.namespace" => self.namespace,
                    "metadata.name" => self.pod,
                    "status.podIP" => "127.0.0.1",
                    other => {
                        return Err(format!(
                            "{cname}: env {name}: fieldRef {other} is not supported"
                        ));
                    }
                };
                env.push((name, value.to_owned()));
            } else {
                return Err(format!(
                    "{cname}: env {name}: {from} is not supported by testkit::pod"
                ));
            }
        }
        Ok(env)
    }
}

/// `text` with each `$(NAME)` of a variable in `env` replaced by its value, `$$` as `$`, and
/// references to unknown variables left as written: the kubelet's rules.
fn expand(text: &str, env: &Env) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(end) = inner.find(')')
            && let Some((_, value)) = env.iter().rev().find(|(k, _)| k == &inner[..end])
        {
            out.push_str(value);
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Every cluster DNS name of `services` in `namespace`.
pub fn service_hosts(namespace: &str, services: &[&str]) -> Vec<String> {
    services
        .iter()
        .flat_map(|svc| {
            [
                (*svc).to_owned(),
                format!("{svc}.{namespace}"),
                format!("{svc}.{namespace}.svc"),
                format!("{svc}.{namespace}.svc.cluster.local"),
            ]
        })
        .collect()
}

/// The pod's volumes on the host: a directory each (world-writable, as the kubelet makes an
/// emptyDir), a tmpfs for `medium: Memory`, a secret's keys as files.
fn volumes_of(
    spec: &Value,
    root: &Path,
    secrets: &Secrets,
) -> Result<BTreeMap<String, Mount>, String> {
    let mut out = BTreeMap::new();
    for volume in list(spec, "volumes") {
        let name = str_at(volume, "name");
        let dir = root.join(name);
        let mount = if let Some(empty) = volume.get("emptyDir") {
            if empty.get("medium").and_then(Value::as_str) == Some("Memory") {
                Mount::Tmpfs
            } else {
                make_dir(&dir, 0o777)?;
                Mount::Dir(dir)
            }
        } else if volume.get("persistentVolumeClaim").is_some() {
            make_dir(&dir, 0o777)?;
            Mount::Dir(dir)
        } else if let Some(secret) = volume.get("secret") {
            let secret_name = str_at(secret, "secretName");
            let values = secrets
                .get(secret_name)
                .ok_or_else(|| format!("volume {name}: secret {secret_name:?} does not exist"))?;
            make_dir(&dir, 0o755)?;
            // As the kubelet writes them: `defaultMode` (0644 unless set), group `fsGroup`.
            let mode = secret
                .get("defaultMode")
                .and_then(Value::as_u64)
                .and_then(|m| u32::try_from(m).ok())
                .unwrap_or(0o644);
            let group = spec
                .pointer("/securityContext/fsGroup")
                .and_then(Value::as_u64)
                .and_then(|g| u32::try_from(g).ok());
            for (key, value) in values {
                let file = dir.join(key);
                std::fs::write(&file, value).map_err(|e| format!("volume {name}: {e}"))?;
                std::os::unix::fs::chown(&file, None, group)
                    .map_err(|e| format!("volume {name}: {e}"))?;
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode))
                    .map_err(|e| format!("volume {name}: {e}"))?;
            }
            Mount::Dir(dir)
        } else {
            return Err(format!(
                "volume {name}: {volume} is not supported by testkit::pod"
            ));
        };
        out.insert(name.to_owned(), mount);
    }
    Ok(out)
}

fn make_dir(dir: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("{}: {e}", dir.display()))
}

/// The host ports a live pod of this process declared: pods share the host's network here, so
/// two pods of one process (tests run in parallel threads, and share the machine lock) must not
/// declare the same port at once, where a cluster would give each its own address.
static CLAIMED: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
static RELEASED: Condvar = Condvar::new();

/// A pod's claim on its ports, released when the pod is dropped.
struct PortClaim(Vec<u16>);

impl PortClaim {
    /// Waits until no other live pod of this process declares any of `spec`'s `containerPort`s,
    /// then (up to 30 s) until the host can bind each: the previous pod's processes may hold one
    /// for a moment after its container was removed.
    fn take(spec: &Value) -> Result<PortClaim, String> {
        let mut ports: Vec<u16> = list(spec, "containers")
            .iter()
            .flat_map(|c| list(c, "ports"))
            .filter_map(|p| u16::try_from(p.get("containerPort")?.as_u64()?).ok())
            .collect();
        ports.sort_unstable();
        ports.dedup();
        let mut claimed = CLAIMED.lock().unwrap_or_else(|e| e.into_inner());
        while ports.iter().any(|p| claimed.contains(p)) {
            claimed = RELEASED.wait(claimed).unwrap_or_else(|e| e.into_inner());
        }
        claimed.extend(&ports);
        drop(claimed);
        let claim = PortClaim(ports);
        let started = Instant::now();
        for &port in &claim.0 {
            while std::net::TcpListener::bind(("0.0.0.0", port)).is_err() {
                if started.elapsed() > Duration::from_secs(30) {
                    return Err(format!("port {port} stays in use on this machine"));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        Ok(claim)
    }
}

impl Drop for PortClaim {
    fn drop(&mut self) {
        let mut claimed = CLAIMED.lock().unwrap_or_else(|e| e.into_inner());
        for port in &self.0 {
            claimed.remove(port);
        }
        RELEASED.notify_all();
    }
}

fn named_ports(container: &Value) -> BTreeMap<String, u16> {
    list(container, "ports")
        .iter()
        .filter_map(|p| {
            let port = u16::try_from(p.get("containerPort")?.as_u64()?).ok()?;
            Some((p.get("name")?.as_str()?.to_owned(), port))
        })
        .collect()
}

fn probe(
    container: &Value,
    which: &str,
    ports: &BTreeMap<String, u16>,
) -> Result<Option<Probe>, String> {
    let Some(probe) = container.get(which) else {
        return Ok(None);
    };
    let (action, path) = match (probe.get("httpGet"), probe.get("tcpSocket")) {
        (Some(get), _) => (
            get,
            Some(
                get.get("path")
                    .and_then(Value::as_str)
                    .unwrap_or("/")
                    .to_owned(),
            ),
        ),
        (None, Some(tcp)) => (tcp, None),
        _ => {
            return Err(format!(
                "{which}: only httpGet and tcpSocket probes are supported"
            ));
        }
    };
    let port = match action.get("port") {
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Some(Value::String(name)) => ports.get(name).copied(),
        _ => None,
    }
    .ok_or_else(|| {
        format!(
            "{which}: port {:?} is not a port of the container",
            action.get("port")
        )
    })?;
    let seconds =
        |key: &str, default: u64| probe.get(key).and_then(Value::as_u64).unwrap_or(default);
    Ok(Some(Probe {
        path,
        port,
        period: Duration::from_secs(seconds("periodSeconds", 10)),
        failure_threshold: u32::try_from(seconds("failureThreshold", 3)).unwrap_or(3),
    }))
}

/// A plain HTTP/1.1 GET on 127.0.0.1 that answered 2xx or 3xx, as the kubelet counts success.
pub fn http_get_ok(port: u16, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok()
        && head.starts_with(b"HTTP/1.")
        && matches!(head[9], b'2' | b'3')
}

/// Writes `env` as podman's `--env-file`, readable by this user only.
fn write_env_file(path: &Path, env: &Env) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    for (name, value) in env {
        if value.contains('\n') {
            return Err(format!(
                "env {name}: a value with a line break is not supported"
            ));
        }
        writeln!(file, "{name}={value}").map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

fn run_podman(args: &[String]) -> Result<std::process::Output, String> {
    podman()
        .args(args)
        .output()
        .map_err(|e| format!("cannot run podman: {e}"))
}

/// One test's pods at a time on this machine (rendered pods use fixed ports on the host
/// network): the first pod of a process takes the lock, the others of the same process share it.
fn pod_lock() -> Result<Arc<File>, String> {
    static HELD: Mutex<Weak<File>> = Mutex::new(Weak::new());
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(file) = held.upgrade() {
        return Ok(file);
    }
    let path = std::env::temp_dir().join("testkit-pod.lock");
    let file = File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    file.lock()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let file = Arc::new(file);
    *held = Arc::downgrade(&file);
    Ok(file)
}

fn list<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn str_at<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_expand_as_the_kubelet_expands_them() {
        let env: Env = vec![
            ("URI".into(), "postgresql://u:p@db/m".into()),
            ("HOME".into(), "/tmp".into()),
        ];
        assert_eq!(
            expand("--backend-store-uri=$(URI)", &env),
            "--backend-store-uri=postgresql://u:p@db/m"
        );
        assert_eq!(
            expand("$$(URI) $(NOPE) $(HOME)/x $", &env),
            "$(URI) $(NOPE) /tmp/x $"
        );
    }
}
