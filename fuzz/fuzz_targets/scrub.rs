//! The privacy scrubber on arbitrary text: idempotent, bounded growth, and no Luhn-valid card
//! number in ASCII digits left in its output (see `heatlake_fuzz::check_scrub`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    heatlake_fuzz::check_scrub(text);
});
