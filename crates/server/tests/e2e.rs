//! End-to-end tests: the real server on port 0 over real HTTP (in-process, or as a child process
//! where a test must kill it), driven like a client would.

// Tests measure real elapsed time against real processes: the wall clock is theirs to read.
#![allow(clippy::disallowed_methods)]
// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]

mod e2e {
    pub mod support;

    mod access_keys;
    mod access_keys_pg;
    mod audit;
    mod authz_matrix;
    mod bad_input;
    mod bearer_transport;
    mod config;
    mod gateway;
    mod health;
    mod iam;
    mod insight;
    mod keep_alive;
    mod limits;
    mod logging;
    mod members;
    mod migrate_store;
    mod nginx;
    pub(crate) mod oidc;
    mod opa;
    mod pdp;
    mod persistence;
    mod pg_replicas;
    mod projects;
    mod quickstart_auth;
    mod replicas;
    mod schemas;
    mod shutdown;
    mod studio_bundle;
    mod studio_sessions;
    mod tls;
    mod workspaces;
}
