//! The `nemo` binary.
fn main() {}
