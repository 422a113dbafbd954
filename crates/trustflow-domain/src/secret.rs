//! The trust password, held so that it cannot leak by accident.

use std::fmt;

use zeroize::Zeroizing;

use crate::error::WorkflowError;
use crate::request::SecretLocation;

/// The trust password read from Secrets Manager.
///
/// It has no `Display` or `Serialize`, its `Debug` prints `[redacted]`, its memory is zeroed on
/// drop, and the only way to the characters is [`TrustPassword::expose`], used once: in the call to CreateTrust.
pub struct TrustPassword(Zeroizing<String>);

impl TrustPassword {
    /// Wraps a password; checks CreateTrust's rule (1-128 characters of letters, digits,
    /// punctuation and spaces) so a bad secret fails before AWS sees it.
    pub fn new(value: String) -> Result<Self, &'static str> {
        let value = Zeroizing::new(value);
        let count = value.chars().count();
        if count == 0 || count > 128 {
            return Err("the trust password must be 1 to 128 characters long");
        }
        if !value.chars().all(|c| c == ' ' || c.is_alphanumeric() || c.is_ascii_punctuation()) {
            return Err("the trust password may contain only letters, digits, punctuation and spaces");
        }
        Ok(Self(value))
    }

    /// The password's characters. Call only to hand it to CreateTrust.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Replaces every occurrence of the password in `text` (an AWS error message may echo parameters).
    pub fn scrub(&self, text: &str) -> String {
        text.replace(self.0.as_str(), "[redacted]")
    }
}

impl fmt::Debug for TrustPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TrustPassword([redacted])")
    }
}

/// The trust password in a secret's string, as the request's `trustPassword` locates it.
///
/// A secret that is a JSON object needs `jsonKey`: without it the whole JSON text would reach
/// CreateTrust as the password, and AWS would answer "Access is denied" long after, blaming the
/// on-premises side. The error names the keys the object has (never a value) and the field to add.
pub fn password_from_secret_string(text: &str, location: &SecretLocation) -> Result<TrustPassword, WorkflowError> {
    let secret_id = &location.secret_id;
    let value = match &location.json_key {
        Some(key) => zeroize::Zeroizing::new(extract_json_key(text, secret_id, key)?),
        None => {
            if let Ok(serde_json::Value::Object(object)) = serde_json::from_str::<serde_json::Value>(text) {
                let keys: Vec<String> = object.keys().map(|key| crate::error::excerpt(key)).collect();
                return Err(WorkflowError::SecretUnavailable(format!(
                    "trustPassword.jsonKey: is required because the secret {secret_id:?} holds a JSON object (keys: {}); name the key that holds the password, e.g. \"trustPassword\": {{\"secretId\": {secret_id:?}, \"jsonKey\": {}}}",
                    if keys.is_empty() { "none".to_owned() } else { keys.join(", ") },
                    keys.first().map(String::as_str).unwrap_or("\"password\""),
                )));
            }
            zeroize::Zeroizing::new(text.to_owned())
        }
    };
    TrustPassword::new(value.to_string()).map_err(|rule| {
        WorkflowError::SecretUnavailable(format!("trustPassword: the secret {secret_id:?} does not hold a usable trust password: {rule}"))
    })
}

/// Reads `key` out of a JSON secret. Errors never include the secret's content.
pub fn extract_json_key(text: &str, secret_id: &str, key: &str) -> Result<String, WorkflowError> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).map_err(|_| {
        WorkflowError::SecretUnavailable(format!(
            "trustPassword.jsonKey: the secret {secret_id:?} is not a JSON object, so key {key:?} cannot be read from it"
        ))
    })?;
    match object.get(key) {
        Some(serde_json::Value::String(value)) => Ok(value.clone()),
        Some(_) => {
            Err(WorkflowError::SecretUnavailable(format!("trustPassword.jsonKey: key {key:?} of the secret {secret_id:?} is not a string")))
        }
        None => Err(WorkflowError::SecretUnavailable(format!("trustPassword.jsonKey: the secret {secret_id:?} has no key {key:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_password() {
        let password = TrustPassword::new("Canary-P@ss 1".to_owned()).expect("valid");
        assert_eq!(format!("{password:?}"), "TrustPassword([redacted])");
        assert_eq!(password.expose(), "Canary-P@ss 1");
    }

    #[test]
    fn rejects_passwords_that_break_create_trusts_pattern() {
        assert!(TrustPassword::new(String::new()).is_err());
        assert!(TrustPassword::new("a".repeat(129)).is_err());
        assert!(TrustPassword::new("tab\there".to_owned()).is_err());
        assert!(TrustPassword::new("new\nline".to_owned()).is_err());
        assert!(TrustPassword::new("a".repeat(128)).is_ok());
    }

    #[test]
    fn scrubs_the_password_from_echoed_messages() {
        let password = TrustPassword::new("S3cret!".to_owned()).expect("valid");
        assert_eq!(password.scrub("bad value S3cret! for TrustPassword"), "bad value [redacted] for TrustPassword");
    }
}

#[cfg(test)]
mod json_secret_tests {
    use super::*;

    #[test]
    fn reads_a_key_of_a_json_secret() {
        assert_eq!(extract_json_key(r#"{"password":"p@ss"}"#, "s", "password").ok().as_deref(), Some("p@ss"));
    }

    #[test]
    fn json_secret_errors_never_show_the_secret() {
        for (text, words) in
            [(r#"{"other":"Canary-1"}"#, "has no key"), (r#"{"password":42}"#, "not a string"), ("Canary-1", "not a JSON object")]
        {
            let error = extract_json_key(text, "s", "password").expect_err("must fail");
            let message = error.to_string();
            assert_eq!(error.name(), "SecretUnavailable");
            assert!(message.contains(words), "{message}");
            assert!(!message.contains("Canary-1") && !message.contains("42"), "{message}");
        }
    }

    fn location(json_key: Option<&str>) -> SecretLocation {
        SecretLocation { secret_id: "trustflow/corp".to_owned(), json_key: json_key.map(str::to_owned) }
    }

    #[test]
    fn a_json_secret_without_json_key_is_refused_naming_its_keys_but_no_value() {
        let error = password_from_secret_string(r#"{"username":"admin","password":"Canary-1"}"#, &location(None)).expect_err("must refuse");
        let message = error.to_string();
        assert_eq!(error.name(), "SecretUnavailable");
        assert!(message.starts_with("trustPassword.jsonKey: is required"), "{message}");
        assert!(message.contains(r#"keys: "password", "username""#) && message.contains("trustflow/corp"), "{message}");
        assert!(!message.contains("Canary-1") && !message.contains("admin"), "{message}");
    }

    #[test]
    fn a_plain_string_secret_is_the_password_and_a_json_key_picks_one_out_of_an_object() {
        let plain = password_from_secret_string("Plain P@ss 1", &location(None)).expect("plain");
        assert_eq!(plain.expose(), "Plain P@ss 1");
        let keyed = password_from_secret_string(r#"{"password":"K3yed!"}"#, &location(Some("password"))).expect("keyed");
        assert_eq!(keyed.expose(), "K3yed!");
        // JSON that is not an object (a quoted string, a number) is a password like any other.
        assert_eq!(password_from_secret_string("12345678", &location(None)).expect("digits").expose(), "12345678");
    }
}
