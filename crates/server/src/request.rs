//! Facts about a request that several routes need: its query, the visitor's privacy signals,
//! the client address and user agent.

use std::net::SocketAddr;

use axum::http::{HeaderMap, Uri, header};
use heatlake_model::validate::USER_AGENT_BYTES_MAX;

use crate::config::ServerConfig;

/// Name of the opt-out cookie.
pub const OPTOUT_COOKIE: &str = "heatlake_optout";

/// The peer address of the connection, put into each request's extensions by
/// [`serve()`](crate::serve()).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// The query parameters, decoded, in order.
pub fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .map(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

/// The first value of query parameter `name`.
pub fn query_value<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Why a visitor's events are dropped: the opt-out cookie, or Do Not Track / Global Privacy
/// Control when the site honours them.
pub fn drop_reason(headers: &HeaderMap, honour_dnt: bool) -> Option<&'static str> {
    let opted_out = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .any(|cookie| cookie.trim() == "heatlake_optout=1");
    if opted_out {
        return Some("opt_out");
    }
    let signal = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.trim() == "1")
    };
    if honour_dnt && (signal("dnt") || signal("sec-gpc")) {
        return Some("dnt");
    }
    None
}

/// The client address: the last entry of the trusted proxy header when one is configured and
/// present, else the peer address.
pub fn client_ip(
    config: &ServerConfig,
    headers: &HeaderMap,
    peer: Option<PeerAddr>,
) -> Option<String> {
    if let Some(name) = &config.client_ip_header {
        let forwarded = headers
            .get_all(name.as_str())
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .rfind(|entry| !entry.is_empty());
        if let Some(entry) = forwarded {
            return Some(entry.to_owned());
        }
    }
    peer.map(|PeerAddr(address)| address.ip().to_canonical().to_string())
}

/// The `User-Agent` header, cut to the wire format's bound at a character boundary.
pub fn user_agent(headers: &HeaderMap) -> Option<&str> {
    let agent = headers.get(header::USER_AGENT)?.to_str().ok()?;
    let mut end = agent.len().min(USER_AGENT_BYTES_MAX);
    while !agent.is_char_boundary(end) {
        end -= 1;
    }
    Some(&agent[..end]).filter(|agent| !agent.is_empty())
}
