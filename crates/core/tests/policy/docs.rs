//! `docs/access-control.md` carries the role matrix generated from the shipped policy; this test
//! fails when they differ and prints the text to paste between the markers.

use nmp_core::policy::docs::{generated_section, role_matrix_markdown, MATRIX_BEGIN, MATRIX_END};

use crate::support::policy;

#[test]
fn access_control_doc_matrix_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/access-control.md");
    let document = std::fs::read_to_string(path).expect("docs/access-control.md exists");
    let expected = role_matrix_markdown(policy());
    let actual = generated_section(&document).unwrap_or_else(|| {
        panic!("docs/access-control.md lacks the markers {MATRIX_BEGIN} ... {MATRIX_END}")
    });
    if actual.trim() != expected.trim() {
        panic!(
            "the role matrix in docs/access-control.md is stale; replace the text between the markers with:\n\n{MATRIX_BEGIN}\n{}\n{MATRIX_END}\n",
            expected.trim()
        );
    }
}
