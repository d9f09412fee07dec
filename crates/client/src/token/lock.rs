//! The cross-process refresh lock: an OS advisory lock (flock) on a file next to the config.

use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;

use crate::error::AuthError;

/// Held while one process refreshes; released on drop (closing the file releases the lock too).
#[derive(Debug)]
pub struct RefreshLock {
    file: std::fs::File,
}

impl RefreshLock {
    /// Block (on a worker thread) until the lock is ours.
    pub async fn acquire(path: &Path) -> Result<RefreshLock, AuthError> {
        let path: PathBuf = path.to_path_buf();
        let shown = path.display().to_string();
        let lock_error = |source| AuthError::Lock { path: shown.clone(), source };
        tokio::task::spawn_blocking(move || -> std::io::Result<RefreshLock> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let file = open_private(&path)?;
            FileExt::lock_exclusive(&file)?;
            Ok(RefreshLock { file })
        })
        .await
        .map_err(|join| lock_error(std::io::Error::other(join.to_string())))?
        .map_err(lock_error)
    }
}

impl Drop for RefreshLock {
    fn drop(&mut self) {
        let _ = FileExt::unlock(&self.file);
    }
}

#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().create(true).truncate(false).write(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(path)
}
