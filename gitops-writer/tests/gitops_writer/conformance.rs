//! `GixWriter` runs the conformance suite every `GitOpsWriter` must pass, one test per check.

use std::path::Path;

use gitops_writer::{GixWriter, conformance};

fn open(url: &str, work: &Path) -> GixWriter {
    GixWriter::open(url, work, "main").expect("open a writer")
}

/// A test per check, named as the check.
macro_rules! checks {
    ($($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                conformance::$check(&mut open);
            }
        )*
    };
}

checks!(
    no_change_makes_no_commit,
    files_not_in_the_set_are_pruned,
    files_outside_the_prefix_are_untouched,
    a_file_may_become_a_directory_and_back,
    executable_bits_are_kept,
    a_rejected_push_is_retried_without_force,
);
