//! The desired state of the managed prefix: every deployment whose mirror is complete, rendered
//! (or kept by blob id when its inputs did not change); the channels of failed versions keep
//! their current files; the top-level kustomization and README list what is served.

use std::collections::BTreeMap;

use gitops_writer::FileContent;
use manifests_core::ServingTarget;

use crate::Result;
use crate::deployment::Deployment;
use crate::layout::{self, CurrentDir, Deployed, KUSTOMIZATION, Ready, RenderKey, TargetProbe};
use crate::message::{self, Change};
use crate::report::Problem;

/// The desired files of a pass, and what stands behind them.
pub(crate) struct Desired {
    /// Every file under the prefix, by path relative to it.
    pub(crate) files: layout::Files,
    /// What changes against the current state, for the commit message.
    pub(crate) changes: Vec<Change>,
    /// The versions skipped, with the channels that kept their files.
    pub(crate) problems: Vec<Problem>,
    /// The deployment directories after the pass.
    pub(crate) dirs: BTreeMap<String, CurrentDir>,
}

/// What renders a deployment directory.
#[derive(Clone, Copy)]
pub(crate) struct Renderer<'a> {
    pub(crate) target: &'a dyn ServingTarget,
    pub(crate) namespace: &'a str,
    pub(crate) probe: TargetProbe,
}

/// The managed prefix's files for `wanted`, served from the mirrors in `ready`. The files
/// `current` keeps are moved out of it, not copied (thousands of them in a large registry).
pub(crate) fn desired(
    renderer: Renderer<'_>,
    wanted: &[Deployment],
    ready: &BTreeMap<(String, String), Ready>,
    current: &mut BTreeMap<String, CurrentDir>,
    mut problems: Vec<Problem>,
) -> Result<Desired> {
    let mut dirs = render_ready(renderer, wanted, ready, current, &mut problems);
    keep_failed_channels(&mut problems, &mut dirs, current);
    let files = prefix_files(&dirs)?;
    let changes = message::changes(current, &dirs);
    Ok(Desired {
        files,
        changes,
        problems,
        dirs,
    })
}

/// Renders every wanted deployment whose mirror is ready; a directory whose render key is
/// unchanged keeps its current files by blob id. A deployment that fails to render is a problem.
fn render_ready(
    renderer: Renderer<'_>,
    wanted: &[Deployment],
    ready: &BTreeMap<(String, String), Ready>,
    current: &mut BTreeMap<String, CurrentDir>,
    problems: &mut Vec<Problem>,
) -> BTreeMap<String, CurrentDir> {
    let jobs: Vec<(&Deployment, &Ready, String)> = wanted
        .iter()
        .filter_map(|d| Some((d, ready.get(&d.mirror_path())?, d.dir())))
        .collect();
    // Rendering is a pure function of its inputs: what is rendered (everything, the first time)
    // is spread over the cores.
    let now = &*current;
    let rendered = crate::parallel::map(&jobs, |(d, ready, dir)| -> Result<_> {
        let key = RenderKey::of(renderer.probe, renderer.namespace, d, ready)?;
        match now.get(dir) {
            Some(dir) if dir.rendered_from == Some(key) => Ok((key, None)),
            _ => {
                let files =
                    layout::render_deployment(renderer.target, renderer.namespace, d, ready)?;
                Ok((key, Some(files)))
            }
        }
    });
    let mut dirs = BTreeMap::new();
    for ((d, ready, dir), rendered) in jobs.into_iter().zip(rendered) {
        match rendered {
            Ok((key, files)) => {
                let files = match files {
                    Some(files) => layout::DirFiles::from(files),
                    None => take_files(current, &dir),
                };
                let state = CurrentDir {
                    deployed: Some(Deployed::of(d, &ready.uri)),
                    files,
                    rendered_from: Some(key),
                };
                dirs.insert(dir, state);
            }
            Err(e) => problems.push(Problem::new(
                d.model.clone(),
                Some(d.version),
                vec![d.channel.clone()],
                format!("cannot render: {e}"),
            )),
        }
    }
    dirs
}

/// Keeps the last good deployment of every channel whose new version failed, and says so in
/// the problem.
fn keep_failed_channels(
    problems: &mut [Problem],
    dirs: &mut BTreeMap<String, CurrentDir>,
    current: &mut BTreeMap<String, CurrentDir>,
) {
    for problem in problems {
        for channel in &problem.channels {
            let dir = Deployment::dir_of(&problem.model, channel);
            if dirs.contains_key(&dir) {
                continue;
            }
            let Some(
                serving @ CurrentDir {
                    deployed: Some(_), ..
                },
            ) = current.get(&dir)
            else {
                continue;
            };
            let kept = CurrentDir {
                deployed: serving.deployed.clone(),
                rendered_from: serving.rendered_from,
                files: take_files(current, &dir),
            };
            dirs.insert(dir, kept);
            problem.kept.push(channel.clone());
        }
    }
}

/// Every file under the prefix: the directories' files, the kustomization listing them and the
/// README index.
fn prefix_files(dirs: &BTreeMap<String, CurrentDir>) -> Result<layout::Files> {
    let mut files = BTreeMap::new();
    let mut index = Vec::new();
    for (dir, state) in dirs {
        for (name, file) in state.files.iter() {
            files.insert(format!("{dir}/{name}"), file.clone());
        }
        if let Some(deployed) = &state.deployed {
            index.push((dir.as_str(), deployed));
        }
    }
    let listed: Vec<String> = dirs.keys().cloned().collect();
    files.insert(
        KUSTOMIZATION.to_owned(),
        FileContent::bytes(layout::kustomization(&listed)?),
    );
    files.insert(
        "README.md".to_owned(),
        FileContent::bytes(layout::readme(&index)?),
    );
    Ok(files)
}

/// Moves a current directory's files out (what it serves stays, for the commit message).
fn take_files(current: &mut BTreeMap<String, CurrentDir>, dir: &str) -> layout::DirFiles {
    current
        .get_mut(dir)
        .map(|current| std::mem::take(&mut current.files))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use gitops_writer::Content;
    use manifests_core::MlflowServe;

    use super::*;

    fn wine(version: u64, channel: &str) -> Deployment {
        Deployment {
            model: "wine".into(),
            version,
            channel: channel.into(),
            artifact_uri: format!("file:///registry/wine/{version}"),
            run_id: Some("r1".into()),
            source: "models:/m-1".into(),
            tags: BTreeMap::new(),
        }
    }

    fn ready(wanted: &[Deployment]) -> BTreeMap<(String, String), Ready> {
        wanted
            .iter()
            .map(|d| {
                let uri = format!("s3://mirror/wine/{}", d.version);
                (d.mirror_path(), Ready::at(uri))
            })
            .collect()
    }

    fn run(
        wanted: &[Deployment],
        current: &mut BTreeMap<String, CurrentDir>,
        problems: Vec<Problem>,
    ) -> Desired {
        let target = MlflowServe::default();
        let renderer = Renderer {
            target: &target,
            namespace: "team",
            probe: TargetProbe::of(&target).unwrap(),
        };
        desired(renderer, wanted, &ready(wanted), current, problems).unwrap()
    }

    #[test]
    fn ready_deployments_are_rendered_and_listed() {
        let wanted = [wine(3, "production")];
        let out = run(&wanted, &mut BTreeMap::new(), Vec::new());
        assert!(out.files.contains_key("wine/production/deployment.yaml"));
        assert!(out.files.contains_key("kustomization.yaml"));
        assert!(out.files.contains_key("README.md"));
        assert_eq!(out.changes.len(), 1);
        assert_eq!(
            out.changes[0].line(),
            "wine production: new, version 3 (run r1)"
        );
    }

    #[test]
    fn an_unchanged_render_key_keeps_files_by_blob_id() {
        let wanted = [wine(3, "production")];
        let mut first = run(&wanted, &mut BTreeMap::new(), Vec::new()).dirs;
        crate::current::settle(&mut first).unwrap();
        let again = run(&wanted, &mut first, Vec::new());
        assert!(again.changes.is_empty());
        let kept = &again.dirs["wine/production"];
        assert!(
            kept.files
                .iter()
                .all(|(_, file)| matches!(file.content, Content::Blob(_))),
            "kept files are not re-rendered"
        );
    }

    #[test]
    fn a_failed_version_keeps_what_its_channel_served() {
        let served = run(&[wine(3, "production")], &mut BTreeMap::new(), Vec::new()).dirs;
        let mut current = served.clone();
        let failed = Problem::new("wine", Some(4), vec!["production".into()], "mirror failed");
        // Version 4 is wanted but not ready: its mirror failed.
        let out = desired(
            Renderer {
                target: &MlflowServe::default(),
                namespace: "team",
                probe: TargetProbe::of(&MlflowServe::default()).unwrap(),
            },
            &[wine(4, "production")],
            &BTreeMap::new(),
            &mut current,
            vec![failed],
        )
        .unwrap();
        assert_eq!(out.problems[0].kept, ["production"]);
        assert_eq!(out.dirs["wine/production"], served["wine/production"]);
        assert!(out.changes.is_empty(), "nothing changes for a kept channel");
    }
}
