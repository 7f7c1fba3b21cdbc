//! Site-scoped pseudonymous ids: the same browser gets unrelated ids on two sites.
//!
//! Trackers send visitor, session and page-view ids that they make up. Stored as sent, the same
//! visitor id on two sites would let anyone with read access to both follow a person across them.
//! So every id is replaced by a keyed hash before it is stored (DESIGN.md, "Privacy at the door"):
//!
//! ```text
//! IdSecret (one per installation) --derive_key(site)--> SiteIdKey --keyed_hash(raw id)--> i64
//! ```
//!
//! Without the secret, the pseudonyms of two sites cannot be linked, and a raw id cannot be found
//! from its pseudonym by trying candidates. With it, the mapping is stable, so the same visitor keeps
//! the same pseudonym on one site across restarts and collectors.
//!
//! Changing either context string below changes every pseudonym ever stored: never do it.

use std::fmt;

/// BLAKE3 `derive_key` context for per-site keys (hardcoded and globally unique, as BLAKE3 asks).
const SITE_KEY_CONTEXT: &str = "heatlake 2026-11-29 per-site pseudonym key v1";
/// BLAKE3 `derive_key` context for turning seed bytes into a secret.
const SECRET_FROM_SEED_CONTEXT: &str = "heatlake 2026-11-29 id secret from seed v1";

/// Length of a secret in bytes.
const SECRET_BYTES: usize = 32;

/// The master secret from which every site's id key is derived.
///
/// Keep it as secret as a password and never change it while data is kept: a new secret gives every
/// visitor new pseudonyms. Its `Debug` output does not show the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct IdSecret([u8; SECRET_BYTES]);

impl IdSecret {
    /// Parses a secret written as 64 hexadecimal digits (either case), as [`IdSecret::to_hex`]
    /// writes it. Surrounding ASCII whitespace (a file's trailing newline) is ignored.
    ///
    /// The error never repeats the input, since a nearly right secret is still a secret.
    pub fn from_hex(hex: &str) -> Result<Self, InvalidSecret> {
        let hex = hex.trim_ascii().as_bytes();
        if hex.len() != SECRET_BYTES * 2 {
            return Err(InvalidSecret::Length { chars: hex.len() });
        }
        let mut bytes = [0; SECRET_BYTES];
        for (index, pair) in hex.chunks_exact(2).enumerate() {
            let digit = |offset: usize| {
                hex_value(pair[offset]).ok_or(InvalidSecret::NotHex {
                    position: index * 2 + offset,
                })
            };
            bytes[index] = digit(0)? << 4 | digit(1)?;
        }
        Ok(Self(bytes))
    }

    /// The secret as 64 lowercase hexadecimal digits, for writing to a configuration file.
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(SECRET_BYTES * 2);
        for byte in self.0 {
            hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
            hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        hex
    }

    /// A new secret made from 32 random bytes that the caller draws from a cryptographically secure
    /// generator (this crate does no I/O, so it cannot draw them itself).
    ///
    /// The seed is passed through BLAKE3 `derive_key`, so the secret never equals the seed bytes.
    pub fn generate_from(seed_bytes: [u8; SECRET_BYTES]) -> Self {
        Self(blake3::derive_key(SECRET_FROM_SEED_CONTEXT, &seed_bytes))
    }
}

impl fmt::Debug for IdSecret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("IdSecret(<hidden>)")
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// A secret that could not be parsed. The message gives the problem, never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSecret {
    /// The text does not have 64 characters.
    #[error("an id secret is 64 hexadecimal digits, got {chars} characters")]
    Length {
        /// How many characters (bytes) were given, after trimming whitespace.
        chars: usize,
    },
    /// A character is not a hexadecimal digit.
    #[error("an id secret is 64 hexadecimal digits, character {position} (from 0) is not one")]
    NotHex {
        /// Byte offset of the first bad character, after trimming whitespace.
        position: usize,
    },
}

/// The key that turns one site's raw ids into pseudonyms. Its `Debug` output hides the key.
#[derive(Clone)]
pub struct SiteIdKey([u8; SECRET_BYTES]);

impl SiteIdKey {
    /// The key of `site`, derived from `secret` with BLAKE3 `derive_key`; two sites get unrelated
    /// keys. Derive it once per site and reuse it: deriving costs a few hash blocks.
    pub fn new(secret: &IdSecret, site: &str) -> Self {
        // The secret has a fixed length, so `secret || site` is unambiguous.
        let mut hasher = blake3::Hasher::new_derive_key(SITE_KEY_CONTEXT);
        hasher.update(&secret.0);
        hasher.update(site.as_bytes());
        Self(*hasher.finalize().as_bytes())
    }

    /// The pseudonym of `raw_id` on this key's site: the first 8 bytes of the BLAKE3 keyed hash of
    /// the id, read little-endian as an `i64` (Delta Lake has no unsigned integers).
    ///
    /// ```
    /// use heatlake_model::privacy::ids::{IdSecret, SiteIdKey};
    ///
    /// let secret = IdSecret::generate_from([42; 32]);
    /// let shop = SiteIdKey::new(&secret, "shop.example");
    /// let blog = SiteIdKey::new(&secret, "blog.example");
    /// assert_eq!(shop.pseudonymise("visitor-1"), shop.pseudonymise("visitor-1"));
    /// assert_ne!(shop.pseudonymise("visitor-1"), blog.pseudonymise("visitor-1"));
    /// ```
    pub fn pseudonymise(&self, raw_id: &str) -> i64 {
        let hash = blake3::keyed_hash(&self.0, raw_id.as_bytes());
        let mut first = [0; 8];
        first.copy_from_slice(&hash.as_bytes()[..8]);
        i64::from_le_bytes(first)
    }
}

impl fmt::Debug for SiteIdKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("SiteIdKey(<hidden>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn secret() -> IdSecret {
        IdSecret::from_hex(HEX).unwrap()
    }

    #[test]
    fn hex_round_trips() {
        let secret = secret();
        assert_eq!(secret.0[..4], [0, 1, 2, 3]);
        assert_eq!(secret.0[31], 0x1f);
        assert_eq!(secret.to_hex(), HEX);
        let upper = IdSecret::from_hex(&format!("  {}\n", HEX.to_uppercase())).unwrap();
        assert_eq!(upper, secret);
    }

    #[test]
    fn bad_hex_is_refused_without_echoing_it() {
        assert_eq!(
            IdSecret::from_hex("abc"),
            Err(InvalidSecret::Length { chars: 3 })
        );
        assert_eq!(
            IdSecret::from_hex(&HEX[..62]),
            Err(InvalidSecret::Length { chars: 62 })
        );
        let mut bad = HEX.to_owned();
        bad.replace_range(9..10, "g");
        let error = IdSecret::from_hex(&bad).unwrap_err();
        assert_eq!(error, InvalidSecret::NotHex { position: 9 });
        assert_eq!(
            error.to_string(),
            "an id secret is 64 hexadecimal digits, character 9 (from 0) is not one"
        );
        // Multi-byte characters are counted in bytes and never split.
        assert_eq!(
            IdSecret::from_hex(&format!("é{}", &HEX[2..])),
            Err(InvalidSecret::NotHex { position: 0 })
        );
    }

    #[test]
    fn debug_hides_the_bytes() {
        let secret = IdSecret::from_hex(&"ab".repeat(32)).unwrap();
        assert_eq!(format!("{secret:?}"), "IdSecret(<hidden>)");
        let key = SiteIdKey::new(&secret, "a");
        assert_eq!(format!("{key:?}"), "SiteIdKey(<hidden>)");
        assert!(!format!("{:?}", (secret, key)).contains("ab"));
    }

    #[test]
    fn generated_secret_is_derived_from_the_seed() {
        let seed = [7; 32];
        let secret = IdSecret::generate_from(seed);
        assert_eq!(secret, IdSecret::generate_from(seed));
        assert_ne!(secret.0, seed);
        assert_ne!(secret, IdSecret::generate_from([8; 32]));
        assert_eq!(
            secret.0,
            blake3::derive_key("heatlake 2026-11-29 id secret from seed v1", &seed)
        );
    }

    #[test]
    fn pseudonyms_are_deterministic() {
        let key = SiteIdKey::new(&secret(), "shop.example");
        let again = SiteIdKey::new(&secret(), "shop.example");
        assert_eq!(
            key.pseudonymise("visitor-1"),
            again.pseudonymise("visitor-1")
        );
        assert_ne!(key.pseudonymise("visitor-1"), key.pseudonymise("visitor-2"));
    }

    #[test]
    fn pseudonyms_differ_across_sites_and_secrets() {
        let shop = SiteIdKey::new(&secret(), "shop.example");
        let blog = SiteIdKey::new(&secret(), "blog.example");
        let other = SiteIdKey::new(&IdSecret::generate_from([1; 32]), "shop.example");
        let id = "visitor-1";
        assert_ne!(shop.pseudonymise(id), blog.pseudonymise(id));
        assert_ne!(shop.pseudonymise(id), other.pseudonymise(id));
        // Site names are not confused by concatenation with the secret.
        assert_ne!(shop.0, SiteIdKey::new(&secret(), "shop.exampl").0);
    }

    #[test]
    fn pseudonym_is_the_keyed_hash_prefix_little_endian() {
        let key = SiteIdKey::new(&secret(), "shop.example");
        let hash = blake3::keyed_hash(&key.0, b"visitor-1");
        let bytes: [u8; 8] = hash.as_bytes()[..8].try_into().unwrap();
        assert_eq!(key.pseudonymise("visitor-1"), i64::from_le_bytes(bytes));
    }

    /// Stored pseudonyms must stay joinable across releases: these values must never change.
    #[test]
    fn pseudonyms_are_stable_across_releases() {
        let key = SiteIdKey::new(&secret(), "shop.example");
        assert_eq!(
            [
                key.pseudonymise(""),
                key.pseudonymise("visitor-1"),
                key.pseudonymise("ü")
            ],
            [
                -9049604718225853120,
                8964634952127815772,
                8148536832306400452
            ]
        );
        let key = SiteIdKey::new(&IdSecret::generate_from([7; 32]), "a");
        assert_eq!(key.pseudonymise("v1"), 2118778538497123885);
    }
}
