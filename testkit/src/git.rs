//! Real git repositories: an empty bare remote plus a working clone, read back with the `git` CLI.
//!
//! Every command runs with an isolated configuration (no system or global config), so the machine's
//! settings cannot change what a test sees.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::tools::system_tool;

/// The branch every remote starts on.
pub const BRANCH: &str = "main";

/// One commit as `git log` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// Full object id.
    pub id: String,
    /// Parent ids.
    pub parents: Vec<String>,
    /// Author name.
    pub author: String,
    /// Subject line.
    pub subject: String,
}

/// A bare remote and a clone of it, in a temporary directory removed on drop.
#[derive(Debug)]
pub struct GitRemote {
    dir: tempfile::TempDir,
}

impl GitRemote {
    /// An empty bare repository (`main`) and an empty clone of it.
    pub fn new() -> GitRemote {
        let dir = tempfile::Builder::new()
            .prefix("testkit-git-")
            .tempdir()
            .expect("testkit: temp dir");
        let remote = GitRemote { dir };
        git(
            remote.dir.path(),
            &["init", "--bare", "--initial-branch", BRANCH, "remote.git"],
        );
        git(
            remote.dir.path(),
            &["clone", "--quiet", remote.url().as_str(), "clone"],
        );
        remote
    }

    /// The bare repository's path.
    pub fn bare_path(&self) -> PathBuf {
        self.dir.path().join("remote.git")
    }

    /// The clone's work tree.
    pub fn clone_path(&self) -> PathBuf {
        self.dir.path().join("clone")
    }

    /// A scratch directory beside the repositories, removed with them.
    pub fn scratch_path(&self) -> &Path {
        self.dir.path()
    }

    /// `file://` URL of the bare remote.
    pub fn url(&self) -> String {
        format!("file://{}", self.bare_path().display())
    }

    /// Runs `git args…` in the bare repository; panics on failure; returns stdout.
    pub fn git_remote(&self, args: &[&str]) -> String {
        git(&self.bare_path(), args)
    }

    /// Runs `git args…` in the clone; panics on failure; returns stdout.
    pub fn git_clone(&self, args: &[&str]) -> String {
        git(&self.clone_path(), args)
    }

    /// Commits `path` with `content` in the clone as a human would, and pushes it to `main`.
    /// Returns the new commit id.
    pub fn human_commit(&self, path: &str, content: &str, message: &str) -> String {
        let clone = self.clone_path();
        if self.branch_exists() {
            git(&clone, &["pull", "--quiet", "--ff-only", "origin", BRANCH]);
        }
        let file = clone.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).expect("testkit: mkdir in clone");
        }
        std::fs::write(&file, content).expect("testkit: write in clone");
        git(&clone, &["add", "--", path]);
        git(&clone, &["commit", "--quiet", "-m", message]);
        git(
            &clone,
            &["push", "--quiet", "origin", &format!("HEAD:{BRANCH}")],
        );
        git(&clone, &["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// Like [`human_commit`](Self::human_commit) while daemons push too: a push that loses the
    /// race is rebased on the new head and tried again.
    pub fn human_commit_retrying(&self, path: &str, content: &str, message: &str) -> String {
        let clone = self.fresh_main();
        let file = clone.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).expect("testkit: mkdir in clone");
        }
        std::fs::write(&file, content).expect("testkit: write in clone");
        git(&clone, &["add", "--", path]);
        git(&clone, &["commit", "--quiet", "-m", message]);
        for _ in 0..50 {
            if git_status(
                &clone,
                &["push", "--quiet", "origin", &format!("HEAD:{BRANCH}")],
            ) {
                return git(&clone, &["rev-parse", "HEAD"]).trim().to_owned();
            }
            git(&clone, &["pull", "--quiet", "--rebase", "origin", BRANCH]);
        }
        panic!("testkit: the human's push lost the race 50 times");
    }

    /// Fetches into the clone and checks out the remote's `main` there; returns the clone's path.
    fn fresh_main(&self) -> PathBuf {
        let clone = self.clone_path();
        git(&clone, &["fetch", "--quiet", "origin"]);
        let tracking = format!("origin/{BRANCH}");
        git(&clone, &["checkout", "--quiet", "-B", BRANCH, &tracking]);
        clone
    }

    /// Whether the remote has a `main` branch yet.
    pub fn branch_exists(&self) -> bool {
        git_status(
            &self.bare_path(),
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("refs/heads/{BRANCH}"),
            ],
        )
    }

    /// The remote's `main` history, newest first (empty when the branch does not exist).
    pub fn log(&self) -> Vec<Commit> {
        if !self.branch_exists() {
            return Vec::new();
        }
        self.log_of(BRANCH)
    }

    /// The history of `rev` in the remote, newest first.
    pub fn log_of(&self, rev: &str) -> Vec<Commit> {
        self.git_remote(&["log", "--format=%H%x1f%P%x1f%an%x1f%s", rev])
            .lines()
            .map(|line| {
                let mut fields = line.split('\x1f');
                let mut next = || fields.next().unwrap_or_default().to_owned();
                Commit {
                    id: next(),
                    parents: next().split_whitespace().map(str::to_owned).collect(),
                    author: next(),
                    subject: next(),
                }
            })
            .collect()
    }

    /// Every file path in `rev` of the remote, sorted.
    pub fn files(&self, rev: &str) -> Vec<String> {
        let mut files: Vec<String> = self
            .git_remote(&["ls-tree", "-r", "--name-only", "-z", rev])
            .split('\0')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        files.sort();
        files
    }

    /// The files of `rev` under `prefix`, written into a new temporary directory (paths kept, so
    /// `<dir>/<prefix>` is the subtree): what a checkout would hold, for `kubectl kustomize`.
    pub fn export(&self, rev: &str, prefix: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for file in self
            .files(rev)
            .into_iter()
            .filter(|f| f.starts_with(prefix))
        {
            let target = dir.path().join(&file);
            std::fs::create_dir_all(target.parent().expect("a file has a parent")).expect("mkdir");
            std::fs::write(target, self.show(rev, &file).expect("listed file")).expect("write");
        }
        dir
    }

    /// The content of `path` at `rev` in the remote, or `None` if it does not exist there.
    pub fn show(&self, rev: &str, path: &str) -> Option<Vec<u8>> {
        let out = git_command(&self.bare_path())
            .args(["show", &format!("{rev}:{path}")])
            .output()
            .expect("testkit: cannot run git");
        out.status.success().then_some(out.stdout)
    }

    /// Makes the remote accept git push options and record every push it receives (the refs it
    /// updates and the options sent) with a pre-receive hook; read them with [`pushes`](Self::pushes).
    pub fn record_pushes(&self) {
        self.git_remote(&["config", "receive.advertisePushOptions", "true"]);
        let hook = self.bare_path().join("hooks").join("pre-receive");
        let log = self.scratch_path().join("pushes.log");
        let script = format!(
            "#!/bin/sh\nlog={log}\necho push >> \"$log\"\n\
             while read old new ref; do echo \"ref $ref\" >> \"$log\"; done\n\
             i=0\nwhile [ \"$i\" -lt \"${{GIT_PUSH_OPTION_COUNT:-0}}\" ]; do\n\
             eval \"printf 'option %s\\n' \\\"\\$GIT_PUSH_OPTION_$i\\\"\" >> \"$log\"\n\
             i=$((i + 1))\ndone\n",
            log = shell_word(&log.display().to_string())
        );
        std::fs::write(&hook, script).expect("testkit: write the hook");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755))
            .expect("testkit: hook mode");
    }

    /// The pushes recorded since [`record_pushes`](Self::record_pushes), oldest first.
    pub fn pushes(&self) -> Vec<Push> {
        let text =
            std::fs::read_to_string(self.scratch_path().join("pushes.log")).unwrap_or_default();
        let mut pushes: Vec<Push> = Vec::new();
        for line in text.lines() {
            match line.split_once(' ') {
                None if line == "push" => pushes.push(Push::default()),
                Some(("ref", name)) => pushes.last_mut().expect("a push").refs.push(name.into()),
                Some(("option", value)) => {
                    pushes
                        .last_mut()
                        .expect("a push")
                        .options
                        .push(value.into());
                }
                _ => panic!("testkit: unexpected push log line {line:?}"),
            }
        }
        pushes
    }

    /// The remote's branches under `prefix` (`mlflow-gitops/review`), by name, with their heads.
    pub fn branches(&self, prefix: &str) -> std::collections::BTreeMap<String, String> {
        self.git_remote(&[
            "for-each-ref",
            "--format=%(refname:short) %(objectname)",
            &format!("refs/heads/{prefix}/"),
        ])
        .lines()
        .filter_map(|line| line.split_once(' '))
        .map(|(name, id)| (name.to_owned(), id.to_owned()))
        .collect()
    }

    /// Merges `branch` into `main` in the clone as a human would (a plain `git merge`, which
    /// fast-forwards when it can) and pushes `main`. Returns the new head.
    pub fn human_merge(&self, branch: &str) -> String {
        let clone = self.fresh_main();
        git(
            &clone,
            &["merge", "--quiet", "--no-edit", &format!("origin/{branch}")],
        );
        git(
            &clone,
            &["push", "--quiet", "origin", &format!("HEAD:{BRANCH}")],
        );
        git(&clone, &["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// The commits by `author` along the first-parent history of `rev`, oldest first: what a
    /// branch's own writer made, without the target's history below a review branch's merges.
    pub fn first_parent_commits(&self, rev: &str, author: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .git_remote(&["log", "--first-parent", "--format=%H%x1f%an", rev])
            .lines()
            .filter_map(|line| line.split_once('\x1f'))
            .filter(|(_, name)| *name == author)
            .map(|(id, _)| id.to_owned())
            .collect();
        ids.reverse();
        ids
    }

    /// Whether `ancestor` is in the history of `rev` in the remote.
    pub fn is_ancestor(&self, ancestor: &str, rev: &str) -> bool {
        git_status(
            &self.bare_path(),
            &["merge-base", "--is-ancestor", ancestor, rev],
        )
    }

    /// `git fsck --strict` on the remote; panics with its output if the repository is not sound.
    pub fn fsck(&self) {
        self.git_remote(&["fsck", "--strict", "--no-progress"]);
    }
}

/// One push the remote received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Push {
    /// The refs it updated (`refs/heads/main`).
    pub refs: Vec<String>,
    /// The git push options sent with it.
    pub options: Vec<String>,
}

/// `'text'` for sh, with single quotes escaped.
fn shell_word(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

impl Default for GitRemote {
    fn default() -> Self {
        Self::new()
    }
}

/// A `git` command in `dir` with an isolated configuration and a fixed identity.
pub fn git_command(dir: &Path) -> Command {
    let mut cmd = Command::new(system_tool("git", "git"));
    cmd.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "Test Human")
        .env("GIT_AUTHOR_EMAIL", "human@example.invalid")
        .env("GIT_COMMITTER_NAME", "Test Human")
        .env("GIT_COMMITTER_EMAIL", "human@example.invalid");
    cmd
}

/// Runs `git args…` in `dir`; panics with git's message on failure; returns stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_command(dir)
        .args(args)
        .output()
        .expect("testkit: cannot run git");
    assert!(
        out.status.success(),
        "testkit: `git {}` in {} failed: {}",
        args.join(" "),
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn git_status(dir: &Path, args: &[&str]) -> bool {
    git_command(dir)
        .args(args)
        .output()
        .map(|out| out.status.success())
        .unwrap_or(false)
}
