//! Helpers shared by the writer's test files.

use gitops_writer::{ChangeSet, CommitInfo, Signature};

/// A bot's commit info with `message`.
pub fn commit_info(message: &str) -> CommitInfo {
    let bot = Signature {
        name: "mlflow-gitops".into(),
        email: "bot@example.invalid".into(),
    };
    CommitInfo {
        author: bot.clone(),
        committer: bot,
        message: message.into(),
    }
}

/// A change set for `prefix` holding `files` (path, content).
pub fn change_set(prefix: &str, files: &[(&str, &str)]) -> ChangeSet {
    let mut set = ChangeSet::new(prefix).expect("prefix");
    for (path, content) in files {
        set.insert(path, content.to_string()).expect("path");
    }
    set
}
