//! A commit message template of the platform's own: text with placeholders, checked when it is
//! loaded, so a pass never fails on it and every message still names each change.
//!
//! Placeholders: `{summary}` (`mlflow-gitops: 2 changes in deployments/`), `{changes}` (one line
//! per change with model, channel, version and run, and the MLflow UI link under it when
//! configured), `{problems}` (the versions kept as they were, or nothing), `{count}` and
//! `{prefix}`. `{{` and `}}` are literal braces. `{changes}` is required.

use crate::message::Change;
use crate::report::Problem;
use crate::{Error, Result};

/// A parsed commit message template.
///
/// ```
/// let template = promotion_sync::MessageTemplate::parse("deploy({prefix}): {count} change(s)\n\n{changes}\n")?;
/// assert!(promotion_sync::MessageTemplate::parse("no changes named").is_err());
/// # Ok::<(), promotion_sync::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageTemplate {
    parts: Vec<Part>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Summary,
    Changes,
    Problems,
    Count,
    Prefix,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(Field),
}

impl MessageTemplate {
    /// Parses `text`; an unknown placeholder, an unclosed brace or a template without
    /// `{changes}` is an error naming it.
    pub fn parse(text: &str) -> Result<MessageTemplate> {
        let invalid = |reason: String| Error::Config {
            field: "commit_template".into(),
            reason,
        };
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(i) = rest.find(['{', '}']) {
            literal.push_str(&rest[..i]);
            let tail = &rest[i..];
            if let Some(after) = tail.strip_prefix("{{") {
                literal.push('{');
                rest = after;
            } else if let Some(after) = tail.strip_prefix("}}") {
                literal.push('}');
                rest = after;
            } else if tail.starts_with('}') {
                return Err(invalid("a lone `}` (write `}}` for a brace)".into()));
            } else {
                let end = tail.find('}').ok_or_else(|| {
                    invalid("a `{` is never closed (write `{{` for a brace)".into())
                })?;
                let field = match &tail[1..end] {
                    "summary" => Field::Summary,
                    "changes" => Field::Changes,
                    "problems" => Field::Problems,
                    "count" => Field::Count,
                    "prefix" => Field::Prefix,
                    other => {
                        return Err(invalid(format!(
                            "unknown placeholder {{{other}}} (known: summary, changes, problems, count, prefix)"
                        )));
                    }
                };
                if !literal.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut literal)));
                }
                parts.push(Part::Field(field));
                rest = &tail[end + 1..];
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        if !parts.contains(&Part::Field(Field::Changes)) {
            return Err(invalid(
                "{changes} is required: every message names each change's model, channel, version and run".into(),
            ));
        }
        Ok(MessageTemplate { parts })
    }

    /// The message for `changes` under `prefix`; with the MLflow UI's URL, each served version's
    /// page under its line. Trailing blank lines are dropped; the message ends with a newline.
    pub(crate) fn render(
        &self,
        prefix: &str,
        changes: &[Change],
        problems: &[Problem],
        ui: Option<&str>,
    ) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Field(Field::Summary) => out.push_str(&format!(
                    "mlflow-gitops: {} change{} in {prefix}/",
                    changes.len(),
                    if changes.len() == 1 { "" } else { "s" }
                )),
                Part::Field(Field::Changes) => {
                    let lines: Vec<String> = changes
                        .iter()
                        .map(|change| match ui.and_then(|ui| change.link(ui)) {
                            Some(link) => format!("{}\n  {link}", change.line()),
                            None => change.line(),
                        })
                        .collect();
                    out.push_str(&lines.join("\n"));
                }
                Part::Field(Field::Problems) if problems.is_empty() => {}
                Part::Field(Field::Problems) => {
                    out.push_str(&format!(
                        "Kept as they were ({} problem{}):",
                        problems.len(),
                        if problems.len() == 1 { "" } else { "s" }
                    ));
                    for problem in problems {
                        out.push_str(&format!("\n- {problem}"));
                    }
                }
                Part::Field(Field::Count) => out.push_str(&changes.len().to_string()),
                Part::Field(Field::Prefix) => out.push_str(prefix),
            }
        }
        let kept = out.trim_end().len();
        out.truncate(kept);
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Deployed;

    fn deployed(version: &str) -> Deployed {
        Deployed {
            model: "wine".into(),
            channel: "production".into(),
            version: version.into(),
            run_id: Some("abc".into()),
            model_uri: format!("s3://m/wine/{version}"),
            profile: None,
            traffic: None,
        }
    }

    #[test]
    fn placeholders_are_filled_and_every_change_is_named() {
        let template = MessageTemplate::parse(
            "deploy({prefix}): {count} change(s) {{bot}}\n\n{changes}\n\n{problems}\n\n",
        )
        .unwrap();
        let changes = [Change::Updated {
            old: deployed("3"),
            new: deployed("4"),
        }];
        let problems = [Problem::new(
            "iris",
            Some(2),
            vec!["staging".into()],
            "no MLmodel",
        )];
        let message = template.render(
            "deployments",
            &changes,
            &problems,
            Some("https://mlflow.example.com"),
        );
        assert_eq!(
            message,
            "deploy(deployments): 1 change(s) {bot}\n\nwine production: 3 → 4 (run abc)\n  \
             https://mlflow.example.com/#/models/wine/versions/4\n\n\
             Kept as they were (1 problem):\n- model iris version 2: no MLmodel\n"
        );
        let summary = MessageTemplate::parse("{summary}\n\n{changes}\n{problems}").unwrap();
        assert_eq!(
            summary.render("deployments", &changes, &[], None),
            "mlflow-gitops: 1 change in deployments/\n\nwine production: 3 → 4 (run abc)\n"
        );
    }

    #[test]
    fn a_bad_template_is_refused_naming_what_is_wrong() {
        for (text, said) in [
            ("deploy {count}", "{changes} is required"),
            ("{changes} {version}", "unknown placeholder {version}"),
            ("{changes} {count", "never closed"),
            ("{changes} }", "lone"),
        ] {
            let error = MessageTemplate::parse(text).unwrap_err().to_string();
            assert!(
                error.contains("commit_template") && error.contains(said),
                "{text}: {error}"
            );
        }
    }
}
