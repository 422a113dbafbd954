//! Reading a Lambda's configuration from its environment, once, at cold start.

use std::env;

/// A configuration value that is missing or malformed: the function fails at init, not per request.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: environment variable {name} {problem}")]
pub struct ConfigError {
    /// The variable.
    pub name: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

/// A positive whole number of seconds from `name`, or `default` when unset.
pub fn seconds(name: &'static str, default: u64) -> Result<u64, ConfigError> {
    match env::var(name) {
        Err(_) => Ok(default),
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(value) if value > 0 => Ok(value),
            _ => Err(ConfigError { name, problem: format!("must be a positive whole number of seconds, got {text:?}") }),
        },
    }
}

/// `true`/`false` from `name`, or `default` when unset.
pub fn flag(name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match env::var(name) {
        Err(_) => Ok(default),
        Ok(text) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" | "" => Ok(false),
            _ => Err(ConfigError { name, problem: format!("must be true or false, got {text:?}") }),
        },
    }
}

/// A required, non-empty value.
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    match env::var(name) {
        Ok(text) if !text.trim().is_empty() => Ok(text.trim().to_owned()),
        _ => Err(ConfigError { name, problem: "is required".to_owned() }),
    }
}

/// An optional value with a default.
pub fn or_default(name: &'static str, default: &str) -> String {
    env::var(name).ok().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| default.to_owned())
}

/// An optional value: `None` when unset or blank.
pub fn optional(name: &'static str) -> Option<String> {
    env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A comma-separated list (blank items dropped); empty when unset.
pub fn list(name: &'static str) -> Vec<String> {
    env::var(name).unwrap_or_default().split(',').map(str::trim).filter(|item| !item.is_empty()).map(str::to_owned).collect()
}
