//! Probes: one hostile value through one way in, and the requests that carry them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use crate::support::http_exchange;

use super::corpus::*;
use super::normalise::percent_encode;
use super::server::now_ms;

/// What was sent, found again by its id (the stored `seq`, or `seq / 320` for rrweb).
#[derive(Debug, Clone)]
pub(super) struct Probe {
    /// Index into the corpus, or `None` for a client-IP probe.
    pub(super) case: Option<usize>,
    pub(super) ip_case: Option<usize>,
    pub(super) way: String,
}

/// One HTTP request to send, with the probes it carries.
pub(super) struct Request {
    pub(super) method: &'static str,
    pub(super) target: String,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
    pub(super) probes: Vec<u64>,
    /// On a refusal, send these one by one instead (the events of a batch each alone).
    pub(super) split: Vec<Request>,
}

impl Request {
    pub(super) fn post_events(
        events: &[(u64, Value)],
        extra_header: Option<(String, String)>,
    ) -> Self {
        let mut body = Vec::new();
        for (_, event) in events {
            body.extend_from_slice(event.to_string().as_bytes());
            body.push(b'\n');
        }
        let mut headers = vec![("X-Heatlake-Key".to_owned(), WRITE_KEY.to_owned())];
        headers.extend(extra_header);
        Self {
            method: "POST",
            target: "/v1/events".to_owned(),
            headers,
            body,
            probes: events.iter().map(|(id, _)| *id).collect(),
            split: Vec::new(),
        }
    }
}

/// Allocates probe ids and keeps what each one was.
pub(super) struct Registry {
    pub(super) probes: HashMap<u64, Probe>,
    pub(super) next_id: u64,
    pub(super) next_rrweb_id: u64,
}

impl Registry {
    pub(super) fn new() -> Self {
        Self {
            probes: HashMap::new(),
            next_id: 1,
            next_rrweb_id: RRWEB_FIRST_ID,
        }
    }

    pub(super) fn add(&mut self, case: Option<usize>, ip_case: Option<usize>, way: &str) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        assert!(id < RRWEB_FIRST_ID);
        self.probes.insert(
            id,
            Probe {
                case,
                ip_case,
                way: way.to_owned(),
            },
        );
        id
    }

    pub(super) fn add_rrweb(
        &mut self,
        case: Option<usize>,
        ip_case: Option<usize>,
        way: &str,
    ) -> u64 {
        let id = self.next_rrweb_id;
        self.next_rrweb_id += 1;
        self.probes.insert(
            id,
            Probe {
                case,
                ip_case,
                way: way.to_owned(),
            },
        );
        id
    }

    /// The probe of a stored row, from its `seq`.
    pub(super) fn of_seq(&self, seq: i64) -> Option<u64> {
        let id = if seq >= RRWEB_FIRST_ID as i64 * RRWEB_SEQ_PER_ID {
            (seq / RRWEB_SEQ_PER_ID) as u64
        } else {
            seq as u64
        };
        self.probes.contains_key(&id).then_some(id)
    }

    pub(super) fn describe(&self, id: u64, cases: &[Case], ips: &[ClientIp]) -> String {
        let probe = &self.probes[&id];
        match (probe.case, probe.ip_case) {
            (Some(case), _) => format!("{} via {}", cases[case].name, probe.way),
            (_, Some(ip)) => format!("client ip {} via {}", ips[ip].name, probe.way),
            _ => probe.way.clone(),
        }
    }
}

/// A wire event of `type` for probe `id`, with the fields its type needs.
pub(super) fn event(id: u64, event_type: &str) -> Map<String, Value> {
    let mut event = json!({
        "v": 1, "site": SITE, "type": event_type, "ts": now_ms(),
        "visitor_id": "attack-visitor", "session_id": "attack-session",
        "pageview_id": format!("attack-pv-{id}"), "seq": id,
    });
    let object = event.as_object_mut().expect("an object");
    match event_type {
        "pageview" | "beacon" => {
            object.insert("url".into(), SAFE_URL.into());
        }
        "click" => {
            object.insert("x".into(), 10.into());
            object.insert("y".into(), 20.into());
        }
        "input" | "change" => {
            object.insert("field".into(), VALUE_FIELD.into());
            object.insert("input_len".into(), 1.into());
        }
        _ => {}
    }
    std::mem::take(object)
}

pub(super) fn with(mut event: Map<String, Value>, field: &str, value: Value) -> Value {
    event.insert(field.to_owned(), value);
    Value::Object(event)
}

/// A probe's id and the wire event that carries it.
pub(super) type EventProbe = (u64, Value);

/// The `/v1/events` events of a string case: those that should be stored (sent as one batch)
/// and those whose refusal is the point (each sent alone).
pub(super) fn event_probes(
    registry: &mut Registry,
    case_index: usize,
    text: &str,
) -> (Vec<EventProbe>, Vec<EventProbe>) {
    let embedded = Value::from(format!("{EMBEDDING_URL}{text}"));
    let text_value = Value::from(text);
    let stored_ways = [
        ("events.url", "pageview", "url", text_value.clone()),
        ("events.url(in url)", "pageview", "url", embedded.clone()),
        (
            "events.referrer",
            "pageview",
            "referrer",
            text_value.clone(),
        ),
        (
            "events.referrer(in url)",
            "pageview",
            "referrer",
            embedded.clone(),
        ),
        ("events.link", "click", "link", text_value.clone()),
        ("events.link(in url)", "click", "link", embedded),
        ("events.title", "pageview", "title", text_value.clone()),
        ("events.text", "click", "text", text_value.clone()),
        ("events.value", "change", "value", text_value.clone()),
        (
            "events.props value",
            "custom",
            "props",
            json!({ "note": text }),
        ),
        ("events.props key", "custom", "props", json!({ text: "1" })),
        (
            "events.props nested",
            "custom",
            "props",
            json!({"a": {"b": [text]}}),
        ),
        ("events.target", "click", "target", text_value.clone()),
        ("events.field", "input", "field", text_value.clone()),
        ("events.ua", "pageview", "ua", text_value.clone()),
        ("events.beacon url", "beacon", "url", text_value.clone()),
    ];
    let alone_ways = [
        (
            "events.path(in path)",
            "path",
            Value::from(format!("shop.example/{text}")),
        ),
        ("events.path", "path", text_value.clone()),
        ("events.site", "site", text_value.clone()),
        ("events.type", "type", text_value.clone()),
        ("events.seq as text", "seq", text_value),
        ("events.unknown field name", text, Value::from(1)),
    ];
    let stored = stored_ways
        .into_iter()
        .map(|(way, event_type, field, value)| {
            let id = registry.add(Some(case_index), None, way);
            (id, with(event(id, event_type), field, value))
        })
        .collect();
    let alone = alone_ways
        .into_iter()
        .map(|(way, field, value)| {
            let id = registry.add(Some(case_index), None, way);
            (id, with(event(id, "pageview"), field, value))
        })
        .collect();
    (stored, alone)
}

/// An rrweb node.
pub(super) fn element(id: u32, tag: &str, attributes: Value, children: Vec<Value>) -> Value {
    json!({"type": 2, "tagName": tag, "attributes": attributes, "childNodes": children, "id": id})
}

pub(super) fn rrweb_snapshot(ts: i64, body_children: Vec<Value>) -> Value {
    let body = element(4, "body", json!({}), body_children);
    let html = element(
        2,
        "html",
        json!({}),
        vec![element(3, "head", json!({}), vec![]), body],
    );
    json!({"type": 2, "timestamp": ts, "data": {
        "node": {"type": 0, "childNodes": [html], "id": 1},
        "initialOffset": {"left": 0, "top": 0}}})
}

pub(super) fn rrweb_meta(ts: i64, href: &str) -> Value {
    json!({"type": 4, "timestamp": ts, "data": {"href": href, "width": 1280, "height": 800}})
}

pub(super) fn rrweb_click(ts: i64, id: u32) -> Value {
    json!({"type": 3, "timestamp": ts, "data": {"source": 2, "type": 2, "id": id, "x": 5, "y": 5}})
}

pub(super) fn rrweb_request(
    id: u64,
    events: Vec<Value>,
    extra: Option<(&str, Value)>,
    ip: Option<&str>,
) -> Request {
    let mut batch = json!({
        "site": SITE, "visitor_id": "attack-visitor", "session_id": "attack-session",
        "pageview_id": format!("attack-rr-{id}"), "offset": id * 10, "events": events,
    });
    if let Some((name, value)) = extra {
        batch[name] = value;
    }
    let mut headers = vec![
        ("X-Heatlake-Key".to_owned(), WRITE_KEY.to_owned()),
        ("Content-Type".to_owned(), "application/json".to_owned()),
    ];
    if let Some(ip) = ip {
        headers.push(("X-Forwarded-For".to_owned(), ip.to_owned()));
    }
    Request {
        method: "POST",
        target: "/v1/rrweb".to_owned(),
        headers,
        body: batch.to_string().into_bytes(),
        probes: vec![id],
        split: Vec::new(),
    }
}

/// The rrweb batches of a string case.
pub(super) fn rrweb_probes(registry: &mut Registry, case_index: usize, text: &str) -> Vec<Request> {
    let ts = now_ms();
    let embedded = format!("{EMBEDDING_URL}{text}");
    let mut requests = Vec::new();
    let id = registry.add_rrweb(Some(case_index), None, "rrweb.meta href");
    requests.push(rrweb_request(id, vec![rrweb_meta(ts, text)], None, None));
    let id = registry.add_rrweb(Some(case_index), None, "rrweb.meta href(in url)");
    requests.push(rrweb_request(
        id,
        vec![rrweb_meta(ts, &embedded)],
        None,
        None,
    ));
    for (way, attribute) in [
        ("rrweb.link href + click", "href"),
        ("rrweb.element id + click", "id"),
        ("rrweb.element class + click", "class"),
    ] {
        let id = registry.add_rrweb(Some(case_index), None, way);
        let link = element(10, "a", json!({ attribute: text }), vec![]);
        let events = vec![
            rrweb_meta(ts, SAFE_URL),
            rrweb_snapshot(ts + 1, vec![link]),
            rrweb_click(ts + 2, 10),
        ];
        requests.push(rrweb_request(id, events, None, None));
    }
    let id = registry.add_rrweb(Some(case_index), None, "rrweb.input value");
    let input = element(
        11,
        "input",
        json!({"type": "text", "name": "coupon", "value": text}),
        vec![],
    );
    let events = vec![
        rrweb_meta(ts, SAFE_URL),
        rrweb_snapshot(ts + 1, vec![input]),
        json!({"type": 3, "timestamp": ts + 2,
            "data": {"source": 5, "text": text, "isChecked": false, "id": 11}}),
    ];
    requests.push(rrweb_request(id, events, None, None));
    let id = registry.add_rrweb(Some(case_index), None, "rrweb.unknown batch field name");
    requests.push(rrweb_request(
        id,
        vec![rrweb_meta(ts, SAFE_URL)],
        Some((text, json!(1))),
        None,
    ));
    requests
}

/// The pixel requests of a string case.
pub(super) fn pixel_probes(registry: &mut Registry, case_index: usize, text: &str) -> Vec<Request> {
    let encoded = percent_encode(text);
    let embedded = percent_encode(&format!("{EMBEDDING_URL}{text}"));
    let safe = percent_encode(SAFE_URL);
    let ways = [
        ("pixel.url", format!("url={encoded}")),
        ("pixel.url(in url)", format!("url={embedded}")),
        ("pixel.referrer", format!("url={safe}&referrer={encoded}")),
        ("pixel.title", format!("url={safe}&title={encoded}")),
        (
            "pixel.prop value",
            format!("url={safe}&prop.note={encoded}"),
        ),
        ("pixel.prop name", format!("url={safe}&prop.{encoded}=1")),
    ];
    ways.into_iter()
        .map(|(way, query)| {
            let id = registry.add(Some(case_index), None, way);
            pixel_request(id, &query, None)
        })
        .collect()
}

pub(super) fn pixel_request(id: u64, query: &str, ip: Option<&str>) -> Request {
    let mut headers = Vec::new();
    if let Some(ip) = ip {
        headers.push(("X-Forwarded-For".to_owned(), ip.to_owned()));
    }
    Request {
        method: "GET",
        target: format!(
            "/v1/pixel.gif?key={WRITE_KEY}&pageview_id=attack-px-{id}&seq={id}&{query}"
        ),
        headers,
        body: Vec::new(),
        probes: vec![id],
        split: Vec::new(),
    }
}

/// A header value that HTTP/1.1 can carry (no line breaks or other controls but tab).
pub(super) fn header_safe(text: &str) -> bool {
    !text.chars().any(|c| c.is_control() && c != '\t')
}

/// Everything sent and answered, for the search afterwards.
pub(super) struct Exchanges {
    /// (probes, way of the request, status, body) of every answer that was not the pixel's GIF.
    pub(super) answers: Vec<(Vec<u64>, u16, String)>,
    pub(super) failures: Vec<String>,
    pub(super) requests: usize,
}

/// Sends `requests` from [`SENDERS`] threads; a refused batch with a `split` is sent again as
/// its parts.
pub(super) fn send_all(address: &str, requests: Vec<Request>) -> Exchanges {
    let queue = Arc::new(Mutex::new(requests));
    let results = Arc::new(Mutex::new(Exchanges {
        answers: Vec::new(),
        failures: Vec::new(),
        requests: 0,
    }));
    let threads: Vec<_> = (0..SENDERS)
        .map(|_| {
            let queue = Arc::clone(&queue);
            let results = Arc::clone(&results);
            let address = address.to_owned();
            std::thread::spawn(move || {
                loop {
                    let Some(request) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    let headers: Vec<(&str, &str)> = request
                        .headers
                        .iter()
                        .map(|(name, value)| (name.as_str(), value.as_str()))
                        .collect();
                    let answer = http_exchange(
                        &address,
                        request.method,
                        &request.target,
                        &headers,
                        &request.body,
                        REQUEST_TIMEOUT,
                    );
                    let mut results = results.lock().unwrap();
                    results.requests += 1;
                    match answer {
                        Ok(answer) => {
                            let is_gif = answer.headers.iter().any(|(name, value)| {
                                name == "content-type" && value.starts_with("image/gif")
                            });
                            if !is_gif {
                                results.answers.push((
                                    request.probes.clone(),
                                    answer.status,
                                    String::from_utf8_lossy(&answer.body).into_owned(),
                                ));
                            }
                            if answer.status != 200 && !request.split.is_empty() {
                                drop(results);
                                queue.lock().unwrap().extend(request.split);
                            }
                        }
                        Err(error) => results
                            .failures
                            .push(format!("{} {}: {error}", request.method, request.target)),
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("a sender thread ends");
    }
    Arc::into_inner(results)
        .expect("the senders are done")
        .into_inner()
        .expect("no sender panicked")
}

/// Every probe of the corpus: the requests to send, the lines to import, and the registry
/// that names each stored row's probe.
pub(super) struct Plan {
    pub(super) registry: Registry,
    pub(super) requests: Vec<Request>,
    pub(super) import_lines: Vec<Vec<u8>>,
}

/// Plans every way in for every case and client address.
pub(super) fn plan(cases: &[Case], ips: &[ClientIp]) -> Plan {
    let mut plan = Plan {
        registry: Registry::new(),
        requests: Vec::new(),
        import_lines: Vec::new(),
    };
    for (index, case) in cases.iter().enumerate() {
        if let Some(text) = &case.text {
            plan.add_text(index, text);
        }
        if let Some(props) = &case.props {
            plan.add_props(index, props);
        }
    }
    for (index, client) in ips.iter().enumerate() {
        plan.add_client_ip(index, &client.ip);
    }
    plan
}

impl Plan {
    /// A string case through every way in.
    fn add_text(&mut self, index: usize, text: &str) {
        let (stored, alone) = event_probes(&mut self.registry, index, text);
        for (_, event) in stored.iter().chain(&alone) {
            self.import_lines.push(event.to_string().into_bytes());
        }
        let mut batch = Request::post_events(&stored, None);
        batch.split = stored
            .iter()
            .map(|probe| Request::post_events(std::slice::from_ref(probe), None))
            .collect();
        self.requests.push(batch);
        for probe in &alone {
            self.requests
                .push(Request::post_events(std::slice::from_ref(probe), None));
        }
        if header_safe(text) {
            for (way, header) in [
                ("events.batch id header", "X-Heatlake-Batch"),
                ("events.origin header", "Origin"),
            ] {
                let id = self.registry.add(Some(index), None, way);
                let probe = (id, Value::Object(event(id, "pageview")));
                self.requests.push(Request::post_events(
                    &[probe],
                    Some((header.to_owned(), text.to_owned())),
                ));
            }
        }
        self.requests
            .extend(pixel_probes(&mut self.registry, index, text));
        self.requests
            .extend(rrweb_probes(&mut self.registry, index, text));
    }

    /// A `props` case as the custom data of an event and as the pixel's `prop.*`.
    fn add_props(&mut self, index: usize, props: &Value) {
        let id = self.registry.add(Some(index), None, "events.props");
        let probe = (id, with(event(id, "custom"), "props", props.clone()));
        self.import_lines.push(probe.1.to_string().into_bytes());
        self.requests.push(Request::post_events(&[probe], None));
        let query: String = props
            .as_object()
            .expect("props cases are objects")
            .iter()
            .map(|(name, value)| {
                let value = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned);
                format!("&prop.{}={}", percent_encode(name), percent_encode(&value))
            })
            .collect();
        let id = self.registry.add(Some(index), None, "pixel.props");
        let query = format!("url={}{query}", percent_encode(SAFE_URL));
        self.requests.push(pixel_request(id, &query, None));
    }

    /// A client address as an event's `ip`, and as the trusted proxy header of the pixel and
    /// of an rrweb batch.
    fn add_client_ip(&mut self, index: usize, ip: &str) {
        let id = self.registry.add(None, Some(index), "events.ip");
        let probe = (id, with(event(id, "pageview"), "ip", ip.into()));
        self.import_lines.push(probe.1.to_string().into_bytes());
        self.requests.push(Request::post_events(&[probe], None));
        let id = self
            .registry
            .add(None, Some(index), "pixel X-Forwarded-For");
        let query = format!("url={}", percent_encode(SAFE_URL));
        self.requests.push(pixel_request(id, &query, Some(ip)));
        let id = self
            .registry
            .add_rrweb(None, Some(index), "rrweb X-Forwarded-For");
        let meta = vec![rrweb_meta(now_ms(), SAFE_URL)];
        self.requests.push(rrweb_request(id, meta, None, Some(ip)));
    }
}
