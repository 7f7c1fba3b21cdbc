//! Which parameter and property names mark their value as secret.
//!
//! A name is split into words at `_ - . [ ]`, at every other non-alphanumeric byte and at camelCase
//! boundaries (`accessToken` is `access token`, `XAmzSignature` is `x amz signature`), lower-cased.
//! Only the **last** word decides, because it names what the value is: `auth_token` and
//! `X-Amz-Signature` are secrets, `token_type`, `session_count` and `key_count` are not. A name is
//! secret when its last word
//! - is one of [`SECRET_WORDS`] (so `keyboard`, `monkey`, `passport`, `tokens` and `authuser` are
//!   not: the word must match whole), or
//! - ends with one of [`SECRET_SUFFIXES`], for names written in one lower-case word
//!   (`accesstoken`, `clientsecret`), or
//! - is `code` and is the whole name or follows one of [`CODE_QUALIFIERS`] (`code`, `auth_code`,
//!   `verification_code`), since `country_code`, `postal_code` and `promo_code` are not secrets.
//!
//! Not secret by decision: `nonce` and `state` (single-use values that grant nothing once the
//! exchange is over) and `pin` (too often a map pin or a post id).

/// Last words that make a name secret.
const SECRET_WORDS: [&str; 24] = [
    "token",
    "secret",
    "password",
    "passwd",
    "pass",
    "passcode",
    "pwd",
    "pw",
    "auth",
    "authorization",
    "sig",
    "signature",
    "key",
    "apikey",
    "session",
    "sessionid",
    "sid",
    "otp",
    "ticket",
    "jwt",
    "credential",
    "credentials",
    "verifier",
    "bearer",
];

/// Endings of a one-word name that make it secret.
const SECRET_SUFFIXES: [&str; 7] = [
    "token",
    "secret",
    "password",
    "passwd",
    "signature",
    "apikey",
    "sessionid",
];

/// Words before `code` that make it an authorisation or one-time code.
const CODE_QUALIFIERS: [&str; 19] = [
    "auth",
    "authorization",
    "oauth",
    "otp",
    "verification",
    "verify",
    "reset",
    "access",
    "activation",
    "confirmation",
    "confirm",
    "login",
    "security",
    "sms",
    "mfa",
    "recovery",
    "backup",
    "invite",
    "magic",
];

/// Longest name looked at, in bytes; only its end decides, so longer names are cut from the front.
pub(super) const NAME_BYTES_MAX: usize = 64;

/// Whether a parameter or property named `name` holds a secret.
///
/// The name is split into words at non-alphanumeric bytes and camelCase boundaries, lower-cased,
/// and its **last** word decides (`auth_token`, `X-Amz-Signature`, `accessToken` are secrets;
/// `token_type`, `session_count`, `keyboard`, `passport` are not). Secret last words: `token`,
/// `secret`, `password`, `passwd`, `pass`, `passcode`, `pwd`, `pw`, `auth`, `authorization`, `sig`,
/// `signature`, `key`, `apikey`, `session`, `sessionid`, `sid`, `otp`, `ticket`, `jwt`,
/// `credential(s)`, `verifier`, `bearer`; or a one-word name ending in `token`, `secret`,
/// `password`, `passwd`, `signature`, `apikey` or `sessionid` (`accesstoken`); or `code` alone or
/// after an authorisation word (`auth_code`, `verification_code`; not `country_code`). `nonce`,
/// `state` and `pin` are not secret names, by decision.
///
/// ```
/// use heatlake_model::privacy::scrub::is_secret_name;
///
/// assert!(is_secret_name(b"X-Amz-Signature"));
/// assert!(!is_secret_name(b"keyboard"));
/// ```
pub fn is_secret_name(name: &[u8]) -> bool {
    let name = &name[name.len().saturating_sub(NAME_BYTES_MAX)..];
    let mut words = Words::new(name);
    let Some(last) = words.next_back() else {
        return false;
    };
    let mut buffer = [0u8; NAME_BYTES_MAX];
    let last = lowercase(last, &mut buffer);
    if SECRET_WORDS.iter().any(|word| word.as_bytes() == last)
        || SECRET_SUFFIXES
            .iter()
            .any(|suffix| last.ends_with(suffix.as_bytes()))
    {
        return true;
    }
    if last != b"code" {
        return false;
    }
    match words.next_back() {
        None => true,
        Some(before) => {
            let mut buffer = [0u8; NAME_BYTES_MAX];
            let before = lowercase(before, &mut buffer);
            CODE_QUALIFIERS
                .iter()
                .any(|qualifier| qualifier.as_bytes() == before)
        }
    }
}

fn lowercase<'a>(word: &[u8], buffer: &'a mut [u8; NAME_BYTES_MAX]) -> &'a [u8] {
    let buffer = &mut buffer[..word.len()];
    buffer.copy_from_slice(word);
    buffer.make_ascii_lowercase();
    buffer
}

/// The words of a name, from the back.
struct Words<'a> {
    name: &'a [u8],
}

impl<'a> Words<'a> {
    fn new(name: &'a [u8]) -> Self {
        Self { name }
    }

    fn next_back(&mut self) -> Option<&'a [u8]> {
        let name = self.name;
        let mut end = name.len();
        while end > 0 && !name[end - 1].is_ascii_alphanumeric() {
            end -= 1;
        }
        if end == 0 {
            self.name = &[];
            return None;
        }
        let mut start = end - 1;
        while start > 0 {
            let previous = name[start - 1];
            let current = name[start];
            if !previous.is_ascii_alphanumeric() {
                break;
            }
            // `accessToken`: lower (or digit) then upper starts a word.
            if current.is_ascii_uppercase() && !previous.is_ascii_uppercase() {
                break;
            }
            // `XAmzSignature`, `HTTPToken`: the last upper of an upper run starts a word when a
            // lower follows it.
            if current.is_ascii_uppercase()
                && previous.is_ascii_uppercase()
                && name.get(start + 1).is_some_and(u8::is_ascii_lowercase)
            {
                break;
            }
            start -= 1;
        }
        self.name = &name[..start];
        Some(&name[start..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for name in [
            "token",
            "accessToken",
            "AuthToken",
            "auth_token",
            "oauth_token",
            "reset-token",
            "id.token",
            "jwt",
            "sig",
            "X-Amz-Signature",
            "XAmzSignature",
            "HTTPToken",
            "ticket",
            "otp",
            "pw",
            "PWD",
            "password",
            "user[password]",
            "password[]",
            "api_key",
            "apiKey",
            "apikey",
            "client_secret",
            "clientsecret",
            "accesstoken",
            "sessionid",
            "sid",
            "code",
            "auth_code",
            "verificationCode",
            "code_verifier",
            "X-Amz-Credential",
            "sortKey",
        ] {
            assert!(is_secret_name(name.as_bytes()), "{name}");
        }
    }

    #[test]
    fn harmless_names() {
        for name in [
            "",
            "_",
            "keyboard",
            "monkey",
            "turkey",
            "passport",
            "tokens",
            "token_type",
            "session_count",
            "key_count",
            "authuser",
            "country_code",
            "postal_code",
            "promo_code",
            "code_challenge",
            "nonce",
            "state",
            "page",
            "utm_source",
            "bypass",
        ] {
            assert!(!is_secret_name(name.as_bytes()), "{name}");
        }
    }
}
