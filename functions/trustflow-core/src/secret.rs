//! The trust password, held so that it cannot leak by accident.

use std::fmt;

use zeroize::Zeroizing;

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
