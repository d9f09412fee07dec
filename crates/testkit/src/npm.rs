//! Finds `tests/idp` and makes sure its `node_modules` is installed, running `npm ci` at most once
//! at a time across every test process on the machine (file lock).

use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use fs4::fs_std::FileExt;

/// `$NMP_TEST_IDP_DIR`, or `tests/idp` of this repository.
pub(crate) fn idp_dir() -> PathBuf {
    match std::env::var_os("NMP_TEST_IDP_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/idp"),
    }
}

/// `$NMP_TEST_NODE`, or `node` from `PATH`.
pub(crate) fn node_program() -> String {
    std::env::var("NMP_TEST_NODE").unwrap_or_else(|_| "node".to_owned())
}

fn npm_program() -> String {
    std::env::var("NMP_TEST_NPM").unwrap_or_else(|_| "npm".to_owned())
}

/// Blocking: call it from `spawn_blocking`.
pub(crate) fn ensure_installed(dir: &Path) -> Result<()> {
    if is_installed(dir) {
        return Ok(());
    }
    let lock_path = std::env::temp_dir().join(format!("nmp-testkit-npm-ci-{:016x}.lock", path_hash(dir)));
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open lock file {}", lock_path.display()))?;
    FileExt::lock_exclusive(&lock).with_context(|| format!("cannot lock {}", lock_path.display()))?;
    // Another process may have installed while we waited for the lock.
    if is_installed(dir) {
        return Ok(());
    }
    let output = Command::new(npm_program())
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .output()
        .with_context(|| {
            format!("cannot run `npm ci` in {} (are Node.js 20+ and npm installed?)", dir.display())
        })?;
    if !output.status.success() {
        bail!(
            "`npm ci` in {} failed ({}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    if !is_installed(dir) {
        bail!("`npm ci` in {} succeeded but node_modules/.package-lock.json is missing", dir.display());
    }
    Ok(())
}

/// npm rewrites `node_modules/.package-lock.json` on every install, so an install newer than
/// `package-lock.json` is one made from it.
fn is_installed(dir: &Path) -> bool {
    let modified = |path: PathBuf| fs::metadata(path).and_then(|metadata| metadata.modified());
    match (modified(dir.join("node_modules/.package-lock.json")), modified(dir.join("package-lock.json"))) {
        (Ok(installed), Ok(locked)) => installed >= locked,
        _ => false,
    }
}

fn path_hash(dir: &Path) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    dir.canonicalize().unwrap_or_else(|_| dir.to_owned()).hash(&mut hasher);
    hasher.finish()
}
