//! What a new password must be: pure rules, used by sign-up, password
//! changes, the settings check of the demo password and the CLI.

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 256;

/// Checks a new password against the rules; the error says what to change.
pub fn check_rules(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(format!("must be at least {MIN_LEN} characters"));
    }
    if chars > MAX_LEN {
        return Err(format!("must be at most {MAX_LEN} characters"));
    }
    if password
        .chars()
        .all(|c| c == password.chars().next().unwrap_or(' '))
    {
        return Err("must not be a single repeated character".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert!(check_rules("short").is_err());
        assert!(check_rules("aaaaaaaaaaaaaaaa").is_err());
        assert!(check_rules(&"ab".repeat(200)).is_err());
        assert!(check_rules("a long enough passphrase").is_ok());
    }
}
