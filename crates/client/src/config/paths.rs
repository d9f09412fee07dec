//! Where the CLI config and the CLI's state live, from the environment.
//!
//! Config: `$NMP_CONFIG_FILE` (must exist) → `$XDG_CONFIG_HOME/nmp/config.yaml` (when that
//! directory exists) → `~/.config/nmp/config.yaml`. State: `$XDG_STATE_HOME/nmp` → `~/.local/state/nmp`.

use std::path::{Path, PathBuf};

use super::ConfigError;

/// Reads one environment variable; a parameter so tests need not touch the process env.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// The config file path from the process environment.
pub fn config_path() -> Result<PathBuf, ConfigError> {
    config_path_from(&process_env)
}

/// The config file path from a given environment.
pub fn config_path_from(env: EnvLookup<'_>) -> Result<PathBuf, ConfigError> {
    if let Some(explicit) = env("NMP_CONFIG_FILE") {
        let path = PathBuf::from(&explicit);
        if !path.is_file() {
            return Err(ConfigError::NotFound(explicit));
        }
        return Ok(path);
    }
    if let Some(xdg) = env("XDG_CONFIG_HOME") {
        let base = PathBuf::from(xdg);
        if base.is_dir() {
            return Ok(base.join("nmp").join("config.yaml"));
        }
    }
    let home = env("HOME").ok_or(ConfigError::NoHome)?;
    Ok(Path::new(&home).join(".config").join("nmp").join("config.yaml"))
}

/// The CLI's state directory (quickstart data, pid files) from the process environment.
pub fn state_dir() -> Result<PathBuf, ConfigError> {
    state_dir_from(&process_env)
}

pub fn state_dir_from(env: EnvLookup<'_>) -> Result<PathBuf, ConfigError> {
    if let Some(xdg) = env("XDG_STATE_HOME") {
        return Ok(PathBuf::from(xdg).join("nmp"));
    }
    let home = env("HOME").ok_or(ConfigError::NoHome)?;
    Ok(Path::new(&home).join(".local").join("state").join("nmp"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, String)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(key, value)| (key.to_string(), value.clone())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn explicit_file_must_exist() {
        let scratch = tempfile::tempdir().unwrap();
        let missing = scratch.path().join("nope.yaml");
        let env = env_of(&[("NMP_CONFIG_FILE", missing.display().to_string())]);
        let error = config_path_from(&env).unwrap_err();
        assert_eq!(error.to_string(), format!("Config file not found at {}", missing.display()));
        std::fs::write(&missing, "").unwrap();
        assert_eq!(config_path_from(&env).unwrap(), missing);
    }

    #[test]
    fn xdg_config_home_is_used_only_when_it_exists() {
        let scratch = tempfile::tempdir().unwrap();
        let home = scratch.path().join("home");
        let xdg = scratch.path().join("xdg");
        let env =
            env_of(&[("HOME", home.display().to_string()), ("XDG_CONFIG_HOME", xdg.display().to_string())]);
        assert_eq!(config_path_from(&env).unwrap(), home.join(".config/nmp/config.yaml"));
        std::fs::create_dir_all(&xdg).unwrap();
        assert_eq!(config_path_from(&env).unwrap(), xdg.join("nmp/config.yaml"));
    }

    #[test]
    fn state_dir_prefers_xdg_state_home() {
        let env = env_of(&[("HOME", "/h".into())]);
        assert_eq!(state_dir_from(&env).unwrap(), PathBuf::from("/h/.local/state/nmp"));
        let env = env_of(&[("HOME", "/h".into()), ("XDG_STATE_HOME", "/s".into())]);
        assert_eq!(state_dir_from(&env).unwrap(), PathBuf::from("/s/nmp"));
    }
}
