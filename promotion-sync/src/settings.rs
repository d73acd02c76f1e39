//! How the reconciler runs: the settings a deployment chooses.

use gitops_writer::Signature;
use registry_reader::PromotionFilter;

/// How the reconciler runs. Made by [`Settings::new`]; every field may then be changed.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Settings {
    /// Kubernetes namespace of the serving objects.
    pub namespace: String,
    /// The managed directory in the repository (default `deployments`).
    pub prefix: String,
    /// Which stages and aliases are deployed.
    pub filter: PromotionFilter,
    /// Author and committer of the commits.
    pub author: Signature,
    /// Push after committing (off: commit in the local clone only, for dry runs and tests).
    pub push: bool,
    /// Versions mirrored at the same time (default 4; each mirror copies 16 files at a time).
    pub mirror_concurrency: usize,
    /// Remove mirrors no deployment refers to, keeping the newest N per model; None (the default)
    /// keeps every mirror.
    pub keep_mirrors: Option<usize>,
    /// The directories that versions with local sources (plain paths, `file://`) may be copied
    /// from; a version whose source lies elsewhere is a problem, not a copy. None (the default)
    /// allows any path: set it whenever people other than this process's operators can write the
    /// registry.
    pub local_source_roots: Option<Vec<std::path::PathBuf>>,
    /// Serving profiles, the rules that pick them and traffic splits (default: none, every
    /// channel served as the target sets it).
    pub serving: crate::ServingConfig,
    /// The MLflow UI's URL (`https://mlflow.example.com`): commit messages then link each served
    /// version's page (default: none).
    pub mlflow_ui_url: Option<String>,
    /// The commit message template (default: none, the built-in message).
    pub commit_template: Option<crate::MessageTemplate>,
    /// Channels whose changes need a human's approval (`production`): each change of one goes to
    /// its own review branch, `mlflow-gitops/review/<prefix>/<model>/<channel>`, and reaches
    /// the target branch only when a human merges it (default: none). Needs `push`.
    pub review: std::collections::BTreeSet<String>,
    /// git push options sent with every review branch push, e.g. GitLab's
    /// `merge_request.create` and `merge_request.target=main` (default: none).
    pub push_options: Vec<String>,
}

impl Settings {
    /// Defaults for `namespace`.
    pub fn new(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            prefix: "deployments".into(),
            filter: PromotionFilter::default(),
            author: Signature {
                name: "mlflow-gitops".into(),
                email: "mlflow-gitops@localhost".into(),
            },
            push: true,
            mirror_concurrency: 4,
            keep_mirrors: None,
            local_source_roots: None,
            serving: crate::ServingConfig::default(),
            mlflow_ui_url: None,
            commit_template: None,
            review: Default::default(),
            push_options: Vec::new(),
        }
    }

    /// The MLflow UI's URL, checked: it goes into every commit message, so it may not carry
    /// credentials, and must be http(s).
    pub(crate) fn check_ui_url(&self) -> crate::Result<()> {
        let Some(url) = &self.mlflow_ui_url else {
            return Ok(());
        };
        let invalid = |reason: &str| crate::Error::Config {
            field: "mlflow_ui_url".into(),
            reason: reason.into(),
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(invalid("an http:// or https:// URL"));
        }
        if redaction::has_userinfo(url) || url.contains(char::is_whitespace) {
            return Err(invalid(
                "no credentials or spaces: it is written into every commit message",
            ));
        }
        Ok(())
    }

    /// The review settings, checked: channel names that can name a directory, push options git
    /// can send (one line each), and a review branch root git accepts.
    pub(crate) fn check_review(&self) -> crate::Result<()> {
        let invalid = |field: &str, reason: String| crate::Error::Config {
            field: field.into(),
            reason,
        };
        if let Some(bad) = self
            .review
            .iter()
            .find(|c| c.trim().is_empty() || c.contains('/'))
        {
            return Err(invalid("review", format!("{bad:?} is not a channel name")));
        }
        if let Some(bad) = self
            .push_options
            .iter()
            .find(|o| o.is_empty() || o.contains(['\n', '\r', '\0']))
        {
            return Err(invalid(
                "push_options",
                format!("{bad:?}: a push option is one non-empty line"),
            ));
        }
        let root = format!(
            "{}/{}",
            crate::REVIEW_BRANCH_ROOT,
            self.prefix.trim_matches('/')
        );
        let plain = root.split('/').all(|segment| {
            !segment.is_empty()
                && !segment.starts_with('.')
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        });
        if !self.review.is_empty() && !plain {
            return Err(invalid(
                "review",
                format!(
                    "the review branches would be named {root}/…, which git refuses: use a prefix of ASCII letters, digits, `-`, `_` and `.`"
                ),
            ));
        }
        Ok(())
    }

    /// The prefix, checked: the managed directory may not be the repository root, which would
    /// let a pass delete every file of the repository.
    pub(crate) fn checked_prefix(&self) -> crate::Result<&str> {
        if self.prefix.trim_matches('/').is_empty() {
            return Err(crate::Error::Config {
                field: "prefix".into(),
                reason: "the managed prefix may not be the repository root".into(),
            });
        }
        Ok(&self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_settings_git_cannot_use_are_refused_naming_them() {
        let refused = |edit: &dyn Fn(&mut Settings)| {
            let mut settings = Settings::new("team");
            settings.review = ["production".to_owned()].into();
            edit(&mut settings);
            settings.check_review().unwrap_err().to_string()
        };
        let error = refused(&|s| s.push_options = vec!["merge_request.title=a\nb".into()]);
        assert!(
            error.contains("push_options") && error.contains("one non-empty line"),
            "{error}"
        );
        let error = refused(&|s| {
            s.review.insert("team/prod".into());
        });
        assert!(
            error.contains("\"team/prod\" is not a channel name"),
            "{error}"
        );
        let error = refused(&|s| s.prefix = "my deployments".into());
        assert!(
            error.contains("mlflow-gitops/review/my deployments"),
            "{error}"
        );
        let mut fine = Settings::new("team");
        fine.review = ["production".to_owned()].into();
        fine.push_options = vec!["merge_request.create".into()];
        assert!(fine.check_review().is_ok());
    }

    #[test]
    fn the_repository_root_is_no_prefix() {
        for root in ["", "/", "//"] {
            let mut settings = Settings::new("team");
            settings.prefix = root.into();
            let error = settings.checked_prefix().unwrap_err().to_string();
            assert!(error.contains("invalid prefix"), "{error}");
        }
        assert_eq!(
            Settings::new("team").checked_prefix().unwrap(),
            "deployments"
        );
    }
}
