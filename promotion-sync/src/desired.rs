//! The desired state of the managed prefix: every deployment whose mirror is complete, rendered
//! with its profile (or kept by blob id when its inputs did not change), traffic routes over the
//! channels that exist; the channels of failed versions keep their current files; the top-level
//! kustomization and README list what is served.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use gitops_writer::FileContent;
use manifests_core::serving::NamedProfile;
use manifests_core::{ServingSpec, ServingTarget, Traffic};

use crate::Result;
use crate::deployment::Deployment;
use crate::layout::{self, CurrentDir, Deployed, KUSTOMIZATION, Ready, RenderKey, TargetProbe};
use crate::message::{self, Change};
use crate::report::Problem;
use crate::serving_config::{self, ServingConfig};

/// The desired files of a pass, and what stands behind them.
pub(crate) struct Desired {
    /// Every file under the prefix, by path relative to it.
    pub(crate) files: layout::Files,
    /// What changes against the current state, for the commit message.
    pub(crate) changes: Vec<Change>,
    /// The versions skipped, with the channels that kept their files.
    pub(crate) problems: Vec<Problem>,
    /// Traffic splits that could not be served as configured, and what was served instead.
    pub(crate) notes: Vec<String>,
    /// The deployment directories after the pass.
    pub(crate) dirs: BTreeMap<String, CurrentDir>,
}

/// What renders a deployment directory.
#[derive(Clone, Copy)]
pub(crate) struct Renderer<'a> {
    pub(crate) target: &'a dyn ServingTarget,
    pub(crate) namespace: &'a str,
    pub(crate) probe: TargetProbe,
    pub(crate) serving: &'a ServingConfig,
}

impl Renderer<'_> {
    /// `d` served from `ready` with its profile and (for a route) `traffic`. A profile naming
    /// its own image drops the environment step: what to install was found against our image.
    fn spec(
        &self,
        d: &Deployment,
        ready: &Ready,
        profile: Option<Arc<NamedProfile>>,
        traffic: Option<Traffic>,
    ) -> ServingSpec {
        let mut spec = layout::serving_spec(self.namespace, d, ready);
        if serving_config::has_own_image(self.target, profile.as_deref()) {
            spec.install.clear();
        }
        spec.profile = profile;
        spec.traffic = traffic;
        spec
    }
}

/// The managed prefix's files for `wanted`, served from the mirrors in `ready`. The files
/// `current` keeps are moved out of it, not copied (thousands of them in a large registry).
///
/// Channels render first; then the routes of traffic splits, over the channels that exist after
/// the first step (a channel whose new version failed still serves its old one).
pub(crate) fn desired(
    renderer: Renderer<'_>,
    wanted: &[Deployment],
    ready: &BTreeMap<(String, String), Ready>,
    current: &mut BTreeMap<String, CurrentDir>,
    mut problems: Vec<Problem>,
) -> Result<Desired> {
    let mut channels = Vec::new();
    let mut routes = Vec::new();
    for d in wanted {
        let Some(ready) = ready.get(&d.mirror_path()) else {
            continue;
        };
        match renderer.serving.profile_for(d) {
            Err(reason) => problems.push(Problem::new(
                d.model.clone(),
                Some(d.version),
                vec![d.channel.clone()],
                reason,
            )),
            Ok(profile) => match renderer.serving.route(&d.model, &d.channel) {
                Some(rule) => routes.push((d, ready, profile, rule)),
                None => channels.push((d, renderer.spec(d, ready, profile, None))),
            },
        }
    }
    let mut rerendered = BTreeSet::new();
    let mut dirs = render_ready(renderer, channels, current, &mut problems, &mut rerendered);
    keep_failed_channels(&mut problems, &mut dirs, current);
    let mut notes = Vec::new();
    let routes: Vec<_> = routes
        .into_iter()
        .map(|(d, ready, profile, rule)| {
            let (traffic, note) = serving_config::resolve_traffic(rule, |channel| {
                if channel == d.channel {
                    return Some(ready.uri.clone());
                }
                let dir = dirs.get(&Deployment::dir_of(&d.model, channel))?;
                dir.deployed.as_ref().map(|s| s.model_uri.clone())
            });
            if let Some(note) = note {
                notes.push(format!("model {}: {note}", layout::display_name(&d.model)));
            }
            (d, renderer.spec(d, ready, profile, traffic))
        })
        .collect();
    dirs.extend(render_ready(
        renderer,
        routes,
        current,
        &mut problems,
        &mut rerendered,
    ));
    keep_failed_channels(&mut problems, &mut dirs, current);
    let files = prefix_files(&dirs)?;
    let changes = message::changes(current, &dirs, &rerendered);
    Ok(Desired {
        files,
        changes,
        problems,
        notes,
        dirs,
    })
}

/// Renders every deployment's spec; a directory whose render key is unchanged keeps its current
/// files by blob id. A deployment that fails to render is a problem. The directories rendered
/// into other files than they hold go into `rerendered`.
fn render_ready(
    renderer: Renderer<'_>,
    jobs: Vec<(&Deployment, ServingSpec)>,
    current: &mut BTreeMap<String, CurrentDir>,
    problems: &mut Vec<Problem>,
    rerendered: &mut BTreeSet<String>,
) -> BTreeMap<String, CurrentDir> {
    // Rendering is a pure function of its inputs: what is rendered (everything, the first time)
    // is spread over the cores.
    let now = &*current;
    let rendered = crate::parallel::map(&jobs, |(d, spec)| -> Result<_> {
        let key = RenderKey::of(renderer.probe, spec)?;
        match now.get(&d.dir()) {
            Some(dir) if dir.rendered_from == Some(key) => Ok((key, None)),
            _ => Ok((key, Some(layout::render_deployment(renderer.target, spec)?))),
        }
    });
    let mut dirs = BTreeMap::new();
    for ((d, spec), rendered) in jobs.into_iter().zip(rendered) {
        let dir = d.dir();
        match rendered {
            Ok((key, files)) => {
                let deployed = Deployed::of(&spec);
                let files = match files {
                    Some(files) => {
                        let files = layout::DirFiles::from(files);
                        // Only a directory serving the same thing can be "re-rendered"; the
                        // others are new or updated, and hashing their files here would only
                        // repeat what settling them after the commit does.
                        let same_version = current
                            .get(&dir)
                            .filter(|now| now.deployed.as_ref() == Some(&deployed));
                        if same_version.is_some_and(|now| !now.files.same_as(&files)) {
                            rerendered.insert(dir.clone());
                        }
                        files
                    }
                    None => take_files(current, &dir),
                };
                let state = CurrentDir {
                    deployed: Some(deployed),
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
pub(crate) fn prefix_files(dirs: &BTreeMap<String, CurrentDir>) -> Result<layout::Files> {
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
mod tests;
