//! Reading and atomically writing the CLI config: temp file + fsync + rename, dir 0700, file 0600.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{CliConfig, ConfigError};

/// Read the config; a missing file is an error.
pub fn load(path: &Path) -> Result<CliConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ConfigError::NotFound(path.display().to_string())
        } else {
            ConfigError::Read { path: path.display().to_string(), source }
        }
    })?;
    if text.trim().is_empty() {
        return Ok(CliConfig::default());
    }
    serde_yaml_ng::from_str(&text)
        .map_err(|error| ConfigError::Parse { path: path.display().to_string(), message: error.to_string() })
}

/// Read the config, or an empty one when the file does not exist yet.
pub fn load_or_default(path: &Path) -> Result<CliConfig, ConfigError> {
    match load(path) {
        Err(ConfigError::NotFound(_)) => Ok(CliConfig::default()),
        other => other,
    }
}

/// Write the config atomically with private permissions.
pub fn save(path: &Path, config: &CliConfig) -> Result<(), ConfigError> {
    let write_error =
        |source: std::io::Error| ConfigError::Write { path: path.display().to_string(), source };
    let text = serde_yaml_ng::to_string(config).map_err(|error| ConfigError::Parse {
        path: path.display().to_string(),
        message: error.to_string(),
    })?;
    let directory = parent_dir(path);
    std::fs::create_dir_all(&directory).map_err(write_error)?;
    set_mode(&directory, 0o700).map_err(write_error)?;

    // tempfile creates the file with mode 0600 on Unix, in the same directory, so rename is atomic.
    let mut temporary =
        tempfile::Builder::new().prefix(".config.yaml.").tempfile_in(&directory).map_err(write_error)?;
    temporary.write_all(text.as_bytes()).map_err(write_error)?;
    set_mode(temporary.path(), 0o600).map_err(write_error)?;
    temporary.as_file().sync_all().map_err(write_error)?;
    temporary.persist(path).map_err(|error| write_error(error.error))?;
    if let Ok(handle) = std::fs::File::open(&directory) {
        // Make the rename itself durable; failure here only weakens crash safety.
        let _ = handle.sync_all();
    }
    Ok(())
}

/// The cross-process refresh lock of a context: `<config>.<context>.oauth-refresh.lock`,
/// the name the official SDK uses, so both serialize on the same file.
pub fn lock_path_for(config_path: &Path, context: &str) -> PathBuf {
    let mut name = config_path.file_name().map(|name| name.to_os_string()).unwrap_or_default();
    name.push(format!(".{context}.oauth-refresh.lock"));
    parent_dir(config_path).join(name)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
