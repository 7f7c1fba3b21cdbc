//! Pictures and reports of the analytics answers: a heat picture as PNG ([`png`]) and one
//! self-contained HTML report ([`html`]); [`picture::heat_picture`] runs the questions a picture
//! needs and draws it.
//!
//! Rendering starts from a question's answer (a few thousand aggregated cells at most), never
//! from events.

mod codec;
pub mod font;
pub mod html;
pub mod picture;
pub mod png;
