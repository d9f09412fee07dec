//! End-to-end tests: the real server on port 0 over real HTTP (in-process, or as a child process
//! where a test must kill it), driven like a client would.

mod e2e {
    pub mod support;

    mod bad_input;
    mod config;
    mod health;
    mod iam;
    mod members;
    mod persistence;
    mod projects;
    mod quickstart_auth;
    mod schemas;
    mod workspaces;
}
