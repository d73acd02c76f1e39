//! Review branches on a real bare remote whose hook records push options: a proposal is one
//! commit on the target's head, updated on top of its old head (never forced), recognised as
//! merged once a human merges it, and deleted only while nobody moved it.

use gitops_writer::{GitOpsWriter, GixWriter, Proposal, PushAttempt};
use testkit::git::GitRemote;

use crate::common::{change_set as set, commit_info as info};

const BRANCH: &str = "mlflow-gitops/review/deployments/wine/production";

fn writer(remote: &GitRemote, name: &str) -> GixWriter {
    GixWriter::open(&remote.url(), &remote.scratch_path().join(name), "main").expect("open writer")
}

fn options() -> Vec<String> {
    vec![
        "merge_request.create".into(),
        "merge_request.title=wine production: 3 → 4".into(),
    ]
}

fn parents(remote: &GitRemote, rev: &str) -> Vec<String> {
    remote.log_of(rev)[0].parents.clone()
}

#[test]
fn a_proposal_is_opened_updated_merged_and_deleted_without_force() {
    let remote = GitRemote::new();
    remote.record_pushes();
    remote.human_commit("README.md", "# platform\n", "by a human");
    let mut w = writer(&remote, "w");
    let v3 = set(
        "deployments",
        &[("wine/production/deployment.yaml", "version: 3\n")],
    );
    let v4 = set(
        "deployments",
        &[("wine/production/deployment.yaml", "version: 4\n")],
    );
    w.apply(&v3, &info("wine production: 3")).unwrap();
    assert!(matches!(w.push_once().unwrap(), PushAttempt::Pushed(_)));
    let main = remote.log()[0].id.clone();

    assert!(
        w.review_branches("mlflow-gitops/review")
            .unwrap()
            .is_empty()
    );
    let opened = w
        .propose(BRANCH, &v4, &info("wine production: 3 → 4"), &options())
        .unwrap();
    let Proposal::Pushed {
        id: first,
        created: true,
    } = opened
    else {
        panic!("{opened:?}")
    };
    assert_eq!(remote.branches("mlflow-gitops/review")[BRANCH], first);
    assert_eq!(
        parents(&remote, BRANCH),
        std::slice::from_ref(&main),
        "based on the target's head"
    );
    assert_eq!(
        remote
            .show(BRANCH, "deployments/wine/production/deployment.yaml")
            .unwrap(),
        b"version: 4\n"
    );
    assert_eq!(remote.show(BRANCH, "README.md").unwrap(), b"# platform\n");
    assert_eq!(remote.log()[0].id, main, "the target did not move");
    let pushes = remote.pushes();
    let review_push = pushes.last().unwrap();
    assert_eq!(review_push.refs, [format!("refs/heads/{BRANCH}")]);
    assert_eq!(
        review_push.options,
        options(),
        "the push options reach the server"
    );
    assert!(
        pushes[..pushes.len() - 1]
            .iter()
            .all(|p| p.options.is_empty())
    );

    // The same proposal again: nothing pushed.
    w.review_branches("mlflow-gitops/review").unwrap();
    let again = w.propose(BRANCH, &v4, &info("again"), &options()).unwrap();
    assert_eq!(
        again,
        Proposal::Unchanged {
            head: first.clone()
        }
    );

    // The target moves (a human commit elsewhere): the update merges it, on top of the old head.
    let human = remote.human_commit("docs/notes.md", "notes\n", "a human's notes");
    let pushed_so_far = remote.pushes().len();
    w.refresh().unwrap();
    let updated = w
        .propose(BRANCH, &v4, &info("wine production: 3 → 4"), &options())
        .unwrap();
    let Proposal::Pushed {
        id: second,
        created: false,
    } = updated
    else {
        panic!("{updated:?}")
    };
    assert_eq!(parents(&remote, BRANCH), [first.clone(), human.clone()]);
    assert_eq!(remote.show(BRANCH, "docs/notes.md").unwrap(), b"notes\n");
    assert_eq!(remote.pushes().len(), pushed_so_far + 1);

    // A newer change: one commit on top, the target already merged in.
    let v5 = set(
        "deployments",
        &[("wine/production/deployment.yaml", "version: 5\n")],
    );
    let newer = w
        .propose(BRANCH, &v5, &info("wine production: 3 → 5"), &options())
        .unwrap();
    let Proposal::Pushed {
        id: third,
        created: false,
    } = newer
    else {
        panic!("{newer:?}")
    };
    assert_eq!(parents(&remote, BRANCH), [second]);
    assert!(remote.is_ancestor(&first, &third));

    // A human merges it: the target holds the change, nothing is left to review.
    let merged = remote.human_merge(BRANCH);
    w.refresh().unwrap();
    assert_eq!(w.head().unwrap().as_deref(), Some(merged.as_str()));
    assert_eq!(
        w.propose(BRANCH, &v5, &info("x"), &options()).unwrap(),
        Proposal::OnTarget
    );
    w.review_branches("mlflow-gitops/review").unwrap();
    assert!(w.delete_branch(BRANCH).unwrap());
    assert!(remote.branches("mlflow-gitops/review").is_empty());
    assert!(
        remote.is_ancestor(&human, "main"),
        "the human's commit is kept"
    );
    remote.fsck();
}

#[test]
fn a_branch_moved_by_someone_else_is_neither_overwritten_nor_deleted() {
    let remote = GitRemote::new();
    remote.human_commit("README.md", "# platform\n", "by a human");
    let mut w = writer(&remote, "w");
    let mut other = writer(&remote, "other");
    let v4 = set(
        "deployments",
        &[("wine/production/deployment.yaml", "version: 4\n")],
    );
    let v5 = set(
        "deployments",
        &[("wine/production/deployment.yaml", "version: 5\n")],
    );
    w.review_branches("mlflow-gitops/review").unwrap();
    other.review_branches("mlflow-gitops/review").unwrap();

    let Proposal::Pushed { id: theirs, .. } = other.propose(BRANCH, &v5, &info("5"), &[]).unwrap()
    else {
        panic!("the other writer opens it")
    };
    // `w` listed the branches before: its proposal would replace theirs, so it is refused.
    assert_eq!(
        w.propose(BRANCH, &v4, &info("4"), &[]).unwrap(),
        Proposal::Moved
    );
    assert_eq!(remote.branches("mlflow-gitops/review")[BRANCH], theirs);

    // Listed again, `w` sees it; a push by `other` after that keeps `w` from deleting it.
    w.review_branches("mlflow-gitops/review").unwrap();
    let v6 = set(
        "deployments",
        &[("wine/production/deployment.yaml", "version: 6\n")],
    );
    other.review_branches("mlflow-gitops/review").unwrap();
    let Proposal::Pushed { id: newest, .. } = other.propose(BRANCH, &v6, &info("6"), &[]).unwrap()
    else {
        panic!("the other writer updates it")
    };
    assert!(
        !w.delete_branch(BRANCH).unwrap(),
        "moved since listed: kept"
    );
    assert_eq!(remote.branches("mlflow-gitops/review")[BRANCH], newest);

    assert!(
        w.propose("main", &v4, &info("x"), &[]).is_err(),
        "the target is no review branch"
    );
    assert!(w.propose("review/a b", &v4, &info("x"), &[]).is_err());
}

#[test]
fn push_once_drops_the_commit_when_the_branch_moved() {
    let remote = GitRemote::new();
    remote.human_commit("README.md", "# platform\n", "by a human");
    let mut w = writer(&remote, "w");
    let v3 = set(
        "deployments",
        &[("wine/production/deployment.yaml", "version: 3\n")],
    );
    w.apply(&v3, &info("3")).unwrap();
    let human = remote.human_commit("docs/notes.md", "notes\n", "a human's notes");
    assert_eq!(w.push_once().unwrap(), PushAttempt::Moved);
    assert_eq!(
        remote.log()[0].id,
        human,
        "nothing pushed over the human's commit"
    );
    assert_eq!(
        w.head().unwrap().as_deref(),
        Some(human.as_str()),
        "the new head is fetched"
    );
    assert_eq!(
        w.push_once().unwrap(),
        PushAttempt::Nothing,
        "the commit was dropped"
    );
    w.apply(&v3, &info("3")).unwrap();
    let PushAttempt::Pushed(id) = w.push_once().unwrap() else {
        panic!("applied on the new head, it lands")
    };
    assert_eq!(remote.log()[0].parents, [human]);
    assert_eq!(remote.log()[0].id, id);
}
