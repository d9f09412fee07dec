//! The policy integration tests, one binary: the YAML corpus, the generated role × scope ×
//! workspace matrix against an independent model, the Rego differential test, the Cedar policy set of the benchmark against the native PDP, invariants,
//! loading and validation, the binding index, the generated documentation, and the check that
//! every reference in comments and docs resolves inside the repository.

// Tests measure real elapsed time against real processes: the wall clock is theirs to read.
#![allow(clippy::disallowed_methods)]

#[path = "policy/support.rs"]
mod support;

#[cfg(feature = "cedar")]
#[path = "policy/cedar.rs"]
mod cedar;
#[cfg(feature = "cedar")]
#[path = "policy/cedar_model.rs"]
mod cedar_model;
#[path = "policy/corpus.rs"]
mod corpus;
#[path = "policy/differential.rs"]
mod differential;
#[path = "policy/docs.rs"]
mod docs;
#[path = "policy/explain.rs"]
mod explain;
#[path = "policy/index.rs"]
mod index;
#[path = "policy/loading.rs"]
mod loading;
#[path = "policy/matrix.rs"]
mod matrix;
#[path = "policy/properties.rs"]
mod properties;
#[path = "policy/repo_links.rs"]
mod repo_links;
