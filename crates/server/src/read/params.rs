//! Query strings of the read routes into the questions' parameter structs.
//!
//! The names are the CLI's flags with `_` (`page`, `bin_px`, `viewport_w_min`, `step`, ...).
//! The pairs become a JSON object (numbers where the parameter is a number) that the structs
//! deserialise from: their flattened segment cannot be read by a form decoder directly.
//! Unknown and repeated parameters are refused, so that a typo never silently widens a question.

use heatlake_query::analytics::ctr::{CtrParams, LinkParams};
use heatlake_query::analytics::frustration::FrustrationParams;
use heatlake_query::analytics::funnel::{FunnelParams, FunnelStep};
use heatlake_query::analytics::heatmap::HeatmapParams;
use heatlake_query::analytics::question::{Question, ScrollPart};
use heatlake_query::analytics::scroll::ScrollParams;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Parameters every read route takes.
const COMMON: &[&str] = &["format", "version"];
/// The segment's parameters (every question takes them).
const SEGMENT: &[&str] = &[
    "from",
    "to",
    "device",
    "viewport_w_min",
    "viewport_w_max",
    "browser",
    "os",
    "referrer_domain",
    "predicate",
];
/// Parameters whose values are numbers.
const NUMBERS: &[&str] = &[
    "bin_px",
    "element_cells",
    "limit",
    "window_s",
    "viewport_w_min",
    "viewport_w_max",
];
/// Parameters whose values name an enum variant (`viewport-centred` is read as `viewport_centred`).
const VARIANTS: &[&str] = &["kind", "mode", "by", "level"];

/// A read route's query string, checked against the parameters it takes.
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// The pairs of `query`, refusing names `route` does not take (beyond the common and
    /// segment ones) and names given twice (except `repeatable`).
    pub fn parse(
        pairs: Vec<(String, String)>,
        route: &[&str],
        repeatable: &[&str],
    ) -> Result<Self, ApiError> {
        let mut seen: Vec<&str> = Vec::new();
        for (name, _) in &pairs {
            let known = COMMON.contains(&name.as_str())
                || SEGMENT.contains(&name.as_str())
                || route.contains(&name.as_str());
            if !known {
                let mut all: Vec<&str> = route.to_vec();
                all.extend(COMMON);
                all.extend(SEGMENT);
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {name:?} (this route takes: {})",
                    all.join(", ")
                )));
            }
            if seen.contains(&name.as_str()) && !repeatable.contains(&name.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "parameter {name:?} is given more than once"
                )));
            }
            seen.push(name);
        }
        Ok(Self { pairs })
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every value of `name`, in order.
    fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.pairs
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// `version`: a table version to pin, if given.
    pub fn version(&self) -> Result<Option<u64>, ApiError> {
        self.get("version")
            .map(|text| {
                text.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(format!(
                        "version {text:?} is not a table version (a whole number from 0)"
                    ))
                })
            })
            .transpose()
    }

    /// `format`, if given.
    pub fn format(&self) -> Option<&str> {
        self.get("format")
    }

    /// A boolean flag: absent, `false` or `0` is false; empty, `true` or `1` is true.
    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None | Some("false" | "0") => Ok(false),
            Some("" | "true" | "1") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "{name} must be true or false, got {other:?}"
            ))),
        }
    }

    /// The parameters as a JSON object: `page` is the structs' `path`, numbers are numbers,
    /// `skip` names are left out.
    fn object(&self, skip: &[&str]) -> Result<Map<String, Value>, ApiError> {
        let mut object = Map::new();
        for (name, value) in &self.pairs {
            let name = name.as_str();
            if COMMON.contains(&name) || skip.contains(&name) {
                continue;
            }
            let json = if NUMBERS.contains(&name) {
                let number = value.trim().parse::<i64>().map_err(|_| {
                    let mut api = ApiError::bad_request(format!(
                        "{name} must be a whole number, got {value:?}"
                    ));
                    api.body.value = Some(value.clone());
                    api
                })?;
                Value::from(number)
            } else if VARIANTS.contains(&name) {
                Value::from(value.replace('-', "_"))
            } else {
                Value::from(value.clone())
            };
            let key = if name == "page" { "path" } else { name };
            object.insert(key.to_owned(), json);
        }
        Ok(object)
    }
}

fn from_object<T: DeserializeOwned>(object: Map<String, Value>) -> Result<T, ApiError> {
    serde_json::from_value(Value::Object(object))
        .map_err(|error| ApiError::bad_request(format!("invalid parameters: {error}")))
}

/// `GET /v1/heatmap` parameters.
pub const HEATMAP: &[&str] = &["site", "page", "kind", "mode", "bin_px", "element_cells"];
/// `GET /v1/scroll` parameters.
pub const SCROLL: &[&str] = &["site", "page", "part"];
/// `GET /v1/ctr` parameters.
pub const CTR: &[&str] = &["site", "page", "by", "limit", "next_pages"];
/// `GET /v1/frustration` parameters.
pub const FRUSTRATION: &[&str] = &["site", "page", "level", "limit"];
/// `GET /v1/funnel` parameters.
pub const FUNNEL: &[&str] = &["site", "step", "window_s"];

/// The heatmap question.
pub fn heatmap(query: &Query) -> Result<HeatmapParams, ApiError> {
    from_object(query.object(&[])?)
}

/// The scroll-depth question: both parts, or the one `part` names (`summary` or `reach`).
pub fn scroll(query: &Query) -> Result<Question, ApiError> {
    let params: ScrollParams = from_object(query.object(&["part"])?)?;
    let part = match query.get("part") {
        None => ScrollPart::Both,
        Some("summary") => ScrollPart::Summary,
        Some("reach") => ScrollPart::Reach,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "part must be summary or reach, got {other:?}"
            )));
        }
    };
    Ok(Question::Scroll { params, part })
}

/// The click-through question: per element, or per next page with `next_pages=true`.
pub fn ctr(query: &Query) -> Result<Question, ApiError> {
    if query.flag("next_pages")? {
        if query.get("by").is_some() {
            return Err(ApiError::bad_request(
                "`by` groups elements; it does not go with next_pages=true",
            ));
        }
        let params: LinkParams = from_object(query.object(&["next_pages"])?)?;
        return Ok(Question::LinkCtr(params));
    }
    let params: CtrParams = from_object(query.object(&["next_pages"])?)?;
    Ok(Question::ElementCtr(params))
}

/// The frustration question.
pub fn frustration(query: &Query) -> Result<Question, ApiError> {
    let params: FrustrationParams = from_object(query.object(&[])?)?;
    Ok(Question::Frustration(params))
}

/// The funnel question: `step` repeated, in order; `sql:EXPR` is an event predicate, anything
/// else a page path.
pub fn funnel(query: &Query) -> Result<Question, ApiError> {
    let mut object = query.object(&["step"])?;
    let steps: Vec<FunnelStep> = query.all("step").map(FunnelStep::from_text).collect();
    let steps = serde_json::to_value(steps)
        .map_err(|error| ApiError::bad_request(format!("invalid steps: {error}")))?;
    object.insert("steps".to_owned(), steps);
    let params: FunnelParams = from_object(object)?;
    Ok(Question::Funnel(params))
}
