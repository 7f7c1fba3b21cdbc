//! The elements of one recorded page, rebuilt from rrweb's FullSnapshot and Mutation events, kept
//! only as far as a CSS selector path, a link and a few privacy flags need them.
//!
//! No text, no attribute values beyond `id`, `class`, `href`, `type` and the names that tell a
//! sensitive field apart are kept: the snapshot's text nodes and input values are read past.

use std::collections::HashMap;

use serde_json::Value;

/// The most elements in a selector path; the nearest ones are kept. The tracker uses the same.
pub const SELECTOR_DEPTH_MAX: usize = 12;
/// Siblings visited to place an element among its parent's children of the same tag.
pub const SIBLINGS_SCANNED_MAX: usize = 1_000;
/// The longest selector path, in bytes (the wire format's bound of `target`).
pub const SELECTOR_BYTES_MAX: usize = crate::validate::TARGET_BYTES_MAX;
/// The longest `field` selector, in bytes.
pub const FIELD_BYTES_MAX: usize = crate::validate::FIELD_BYTES_MAX;

/// rrweb's serialized node types (`rrweb-snapshot` `NodeType`).
const NODE_DOCUMENT: u64 = 0;
const NODE_ELEMENT: u64 = 2;

/// One element, as far as selectors, links and masking need it.
#[derive(Debug, Clone, Default)]
struct Element {
    parent: Option<u32>,
    tag: Box<str>,
    /// `id` when it is a plain CSS name: the selector path stops at it.
    id: Option<Box<str>>,
    /// Up to two plain class names, joined with `.`.
    classes: Box<str>,
    href: Option<Box<str>>,
    /// `type` attribute, lower-case.
    input_type: Option<Box<str>>,
    /// Password, e-mail, tel or card field: not even its length is reported.
    sensitive: bool,
    /// `position: fixed` or `sticky` in its inline style (stylesheets are not evaluated).
    inline_fixed: bool,
}

/// Where one node (of any type) sits: its parent, its neighbours in document order and its first
/// and last child, so that inserting before a sibling and removing one take constant time
/// however many siblings there are.
#[derive(Debug, Clone, Copy, Default)]
struct Links {
    parent: Option<u32>,
    previous: Option<u32>,
    next: Option<u32>,
    first_child: Option<u32>,
    last_child: Option<u32>,
}

/// The node tree of one recording, bounded to `nodes_max` nodes.
///
/// Work per operation is bounded too: an insert or a removal relinks a constant number of nodes
/// (plus the removed subtree, which its insert paid for), and a selector visits at most
/// [`SELECTOR_DEPTH_MAX`] `*` [`SIBLINGS_SCANNED_MAX`] siblings.
#[derive(Debug, Clone, Default)]
pub struct NodeTree {
    elements: HashMap<u32, Element>,
    /// Every node kept, elements and others (text, comments), by id.
    links: HashMap<u32, Links>,
    document: Option<u32>,
    nodes_max: usize,
    /// Sibling entries visited or relinked, so that tests can hold the work per operation.
    #[cfg(test)]
    pub(crate) sibling_steps: std::cell::Cell<u64>,
}

impl NodeTree {
    /// An empty tree that keeps at most `nodes_max` nodes.
    pub fn new(nodes_max: usize) -> Self {
        Self {
            nodes_max,
            ..Self::default()
        }
    }

    /// Nodes kept (elements and the positions of other nodes among their siblings).
    pub fn nodes(&self) -> usize {
        self.links.len()
    }

    /// The id of the Document node, whose scroll is the page's scroll.
    pub fn document(&self) -> Option<u32> {
        self.document
    }

    /// Replaces the tree by a FullSnapshot's `node`.
    pub fn load_snapshot(&mut self, root: &Value) {
        self.elements.clear();
        self.links.clear();
        self.document = None;
        if root.get("type").and_then(Value::as_u64) == Some(NODE_DOCUMENT) {
            self.document = node_id(root);
        }
        self.insert(root, None, None);
    }

    /// Applies a Mutation event's `removes`, `adds` and `attributes`, in rrweb's replay order.
    pub fn apply_mutation(&mut self, data: &Value) {
        for remove in array(data, "removes") {
            if let Some(id) = u32_of(remove, "id") {
                self.remove(id);
            }
        }
        for add in array(data, "adds") {
            let Some(node) = add.get("node") else {
                continue;
            };
            let parent = u32_of(add, "parentId");
            self.insert(node, parent, u32_of(add, "nextId"));
        }
        for change in array(data, "attributes") {
            let (Some(id), Some(attributes)) = (u32_of(change, "id"), change.get("attributes"))
            else {
                continue;
            };
            if let Some(element) = self.elements.get_mut(&id) {
                element.update(attributes);
            }
        }
    }

    /// Inserts `node` and its subtree under `parent`, before `next` when it is a child of
    /// `parent`, else last. A node whose id is already kept moves: its old subtree goes first.
    fn insert(&mut self, node: &Value, parent: Option<u32>, next: Option<u32>) {
        let Some(id) = node_id(node) else { return };
        if self.links.contains_key(&id) {
            self.remove(id);
        }
        if self.links.len() >= self.nodes_max {
            return;
        }
        let parent = parent.filter(|p| self.links.contains_key(p));
        self.links.insert(id, Links::default());
        if let Some(parent) = parent {
            let next = next.filter(|n| self.links.get(n).is_some_and(|l| l.parent == Some(parent)));
            self.attach(id, parent, next);
        }
        let node_type = node.get("type").and_then(Value::as_u64);
        if node_type == Some(NODE_ELEMENT) {
            let tag = node.get("tagName").and_then(Value::as_str).unwrap_or("");
            let mut element = Element {
                // The document's children have no element parent.
                parent: parent.filter(|p| self.elements.contains_key(p)),
                tag: tag.to_ascii_lowercase().into(),
                ..Element::default()
            };
            if let Some(attributes) = node.get("attributes") {
                element.update(attributes);
            }
            self.elements.insert(id, element);
        }
        for child in array(node, "childNodes") {
            self.insert(child, Some(id), None);
        }
    }

    /// Links the unlinked node `id` into `parent`'s children, before `next` or last.
    fn attach(&mut self, id: u32, parent: u32, next: Option<u32>) {
        self.count_sibling_steps(1);
        let previous = match next {
            Some(next) => self.links.get(&next).and_then(|l| l.previous),
            None => self.links.get(&parent).and_then(|l| l.last_child),
        };
        if let Some(links) = self.links.get_mut(&id) {
            *links = Links {
                parent: Some(parent),
                previous,
                next,
                ..*links
            };
        }
        match previous.and_then(|p| self.links.get_mut(&p)) {
            Some(previous) => previous.next = Some(id),
            None => {
                if let Some(parent) = self.links.get_mut(&parent) {
                    parent.first_child = Some(id);
                }
            }
        }
        match next.and_then(|n| self.links.get_mut(&n)) {
            Some(next) => next.previous = Some(id),
            None => {
                if let Some(parent) = self.links.get_mut(&parent) {
                    parent.last_child = Some(id);
                }
            }
        }
    }

    /// Takes node `id` out of its parent's children.
    fn detach(&mut self, id: u32) {
        self.count_sibling_steps(1);
        let Some(Links {
            parent,
            previous,
            next,
            ..
        }) = self.links.get(&id).copied()
        else {
            return;
        };
        match previous.and_then(|p| self.links.get_mut(&p)) {
            Some(previous) => previous.next = next,
            None => {
                if let Some(parent) = parent.and_then(|p| self.links.get_mut(&p)) {
                    parent.first_child = next;
                }
            }
        }
        match next.and_then(|n| self.links.get_mut(&n)) {
            Some(next) => next.previous = previous,
            None => {
                if let Some(parent) = parent.and_then(|p| self.links.get_mut(&p)) {
                    parent.last_child = previous;
                }
            }
        }
    }

    /// Removes node `id` and its subtree; an id that is not kept changes nothing, so that
    /// removals of nodes never added cannot make room past `nodes_max`.
    fn remove(&mut self, id: u32) {
        if !self.links.contains_key(&id) {
            return;
        }
        self.detach(id);
        // Iteratively, so that a deep subtree cannot overflow the stack.
        let mut stack = vec![id];
        while let Some(id) = stack.pop() {
            self.elements.remove(&id);
            let Some(links) = self.links.remove(&id) else {
                continue;
            };
            let mut child = links.first_child;
            while let Some(id) = child {
                stack.push(id);
                child = self.links.get(&id).and_then(|l| l.next);
            }
        }
    }

    /// Panics unless every kept node sits exactly once in its parent's children, whose links
    /// agree both ways, and every element's parent element is its parent.
    #[cfg(test)]
    pub(crate) fn check_links(&self) {
        let mut seen = 0;
        for (&id, links) in &self.links {
            let mut previous = None;
            let mut child = links.first_child;
            while let Some(current) = child {
                let child_links = &self.links[&current];
                assert_eq!(child_links.parent, Some(id), "child {current} of {id}");
                assert_eq!(child_links.previous, previous, "previous of {current}");
                seen += 1;
                assert!(seen <= self.links.len(), "a cycle through {current}");
                previous = Some(current);
                child = child_links.next;
            }
            assert_eq!(links.last_child, previous, "last child of {id}");
            if let Some(parent) = self.elements.get(&id).and_then(|e| e.parent) {
                assert_eq!(links.parent, Some(parent), "element {id}");
            }
        }
        let roots = self.links.values().filter(|l| l.parent.is_none()).count();
        assert_eq!(seen + roots, self.links.len());
        assert!(self.elements.keys().all(|id| self.links.contains_key(id)));
        assert!(self.links.len() <= self.nodes_max);
    }

    #[cfg_attr(not(test), expect(unused_variables, reason = "counted in tests only"))]
    fn count_sibling_steps(&self, steps: u64) {
        #[cfg(test)]
        self.sibling_steps.set(self.sibling_steps.get() + steps);
    }

    /// The CSS selector path of element `id`, built as the tracker builds it: `tag#id` stops the
    /// walk; otherwise `tag`, up to two classes and `:nth-of-type(n)` when same-tag siblings
    /// exist, joined by ` > ` below `<body>`, at most [`SELECTOR_DEPTH_MAX`] elements.
    ///
    /// Where an element cannot be placed among its siblings within [`SIBLINGS_SCANNED_MAX`] of
    /// them (a list of thousands of items), the path stops short of it: it names the nearest
    /// ancestor that can be placed, the element the click is known to be in.
    pub fn selector(&self, id: u32, bytes_max: usize) -> Option<String> {
        let mut current = self.elements.get(&id)?;
        let mut current_id = id;
        let mut parts: Vec<String> = Vec::new();
        for _ in 0..SELECTOR_DEPTH_MAX {
            if matches!(&*current.tag, "body" | "html") {
                if parts.is_empty() {
                    parts.push(current.tag.to_string());
                }
                break;
            }
            if let Some(name) = &current.id {
                parts.push(format!("{}#{name}", current.tag));
                break;
            }
            let mut part = current.tag.to_string();
            if !current.classes.is_empty() {
                part.push('.');
                part.push_str(&current.classes);
            }
            match current
                .parent
                .map(|parent| self.position_of_type(parent, current_id, &current.tag))
            {
                Some(Some((index, true))) => {
                    part.push_str(&format!(":nth-of-type({index})"));
                    parts.push(part);
                }
                Some(None) => parts.clear(),
                Some(Some((_, false))) | None => parts.push(part),
            }
            match current
                .parent
                .and_then(|p| Some((p, self.elements.get(&p)?)))
            {
                Some((parent_id, parent)) => {
                    current_id = parent_id;
                    current = parent;
                }
                None => break,
            }
        }
        if parts.is_empty() {
            return None;
        }
        parts.reverse();
        let mut path = parts.join(" > ");
        while path.len() > bytes_max && parts.len() > 1 {
            parts.remove(0);
            path = parts.join(" > ");
        }
        if path.len() > bytes_max {
            let mut end = bytes_max;
            while !path.is_char_boundary(end) {
                end -= 1;
            }
            path.truncate(end);
        }
        Some(path)
    }

    /// 1-based position of `id` among its parent's children of tag `tag`, and whether it has
    /// same-tag siblings; `None` when [`SIBLINGS_SCANNED_MAX`] siblings do not tell.
    fn position_of_type(&self, parent: u32, id: u32, tag: &str) -> Option<(usize, bool)> {
        let mut index = 0;
        let mut position = None;
        let mut others = false;
        let mut scanned = 0;
        let mut sibling = self.links.get(&parent).and_then(|l| l.first_child);
        while let Some(current) = sibling {
            if scanned == SIBLINGS_SCANNED_MAX {
                self.count_sibling_steps(scanned as u64);
                return None;
            }
            scanned += 1;
            if current == id {
                index += 1;
                position = Some(index);
            } else if self.elements.get(&current).is_some_and(|e| &*e.tag == tag) {
                others = true;
                if position.is_none() {
                    index += 1;
                }
            }
            if position.is_some() && others {
                break;
            }
            sibling = self.links.get(&current).and_then(|l| l.next);
        }
        self.count_sibling_steps(scanned as u64);
        position.map(|index| (index, others))
    }

    /// Walks from `id` up through its element ancestors.
    fn ancestors(&self, id: u32) -> impl Iterator<Item = &Element> {
        let mut next = self.elements.get(&id);
        std::iter::from_fn(move || {
            let element = next?;
            next = element.parent.and_then(|p| self.elements.get(&p));
            Some(element)
        })
    }

    /// The href of the nearest link at or above `id`.
    pub fn link(&self, id: u32) -> Option<&str> {
        self.ancestors(id)
            .take(SELECTOR_DEPTH_MAX * 4)
            .find(|e| &*e.tag == "a" && e.href.is_some())
            .and_then(|e| e.href.as_deref())
    }

    /// Whether `id` or an ancestor is fixed or sticky by its inline style.
    pub fn inline_fixed(&self, id: u32) -> bool {
        self.ancestors(id).take(256).any(|e| e.inline_fixed)
    }

    /// What kind of input field `id` is, if it is a known element.
    pub fn field_kind(&self, id: u32) -> Option<FieldKind> {
        let element = self.elements.get(&id)?;
        Some(
            if matches!(element.input_type.as_deref(), Some("checkbox" | "radio"))
                || &*element.tag == "select"
            {
                FieldKind::Choice
            } else if element.sensitive {
                FieldKind::Sensitive
            } else {
                FieldKind::Text
            },
        )
    }
}

/// How an input field's changes are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Text that may be reported by length.
    Text,
    /// Password, e-mail, tel or card field: only "changed".
    Sensitive,
    /// Checkbox, radio button or select: only "changed".
    Choice,
}

impl Element {
    /// Takes the attributes that matter from a snapshot's or a mutation's attribute map (a `null`
    /// value removes an attribute).
    fn update(&mut self, attributes: &Value) {
        let text = |name: &str| attributes.get(name).map(|v| v.as_str().unwrap_or(""));
        if let Some(id) = text("id") {
            self.id = is_plain_name(id).then(|| id.into());
        }
        if let Some(classes) = text("class") {
            // Scrubbed whole before it is split: `password: x` or `Bearer x` as a class list
            // only reads as a secret before its words are taken apart.
            let classes = crate::privacy::scrub::scrub(classes);
            let plain: Vec<&str> = classes
                .split_ascii_whitespace()
                .filter(|c| is_plain_name(c))
                .take(2)
                .collect();
            self.classes = plain.join(".").into();
        }
        if let Some(href) = text("href") {
            self.href = (!href.is_empty()).then(|| href.into());
        }
        if let Some(input_type) = text("type") {
            self.input_type = Some(input_type.to_ascii_lowercase().into());
        }
        if let Some(style) = text("style") {
            let compact: String = style
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_ascii_lowercase();
            self.inline_fixed =
                compact.contains("position:fixed") || compact.contains("position:sticky");
        }
        let names = ["autocomplete", "name", "id", "inputmode"]
            .iter()
            .filter_map(|name| text(name))
            .collect::<Vec<_>>();
        // Once sensitive, always: a later mutation of one attribute cannot make a card field plain.
        self.sensitive |= is_sensitive(self.input_type.as_deref().unwrap_or(""), &names);
    }
}

/// A CSS identifier the selector can use unescaped: `-?[A-Za-z_][A-Za-z0-9_-]*`, as the tracker's
/// `SIMPLE_NAME`.
fn is_plain_name(name: &str) -> bool {
    let rest = name.strip_prefix('-').unwrap_or(name);
    let mut chars = rest.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Name fragments of password, e-mail, tel and card fields (the tracker's `SENSITIVE_NAMES`).
const SENSITIVE_NAME_PARTS: [&str; 17] = [
    "card",
    "cc-",
    "ccnum",
    "cvc",
    "cvv",
    "csc",
    "iban",
    "expir",
    "securitycode",
    "security-code",
    "security_code",
    "security code",
    "passw",
    "email",
    "e-mail",
    "phone",
    "tel",
];

/// Password, e-mail, tel and card fields, by type or by the names a page gives them.
pub fn is_sensitive(input_type: &str, names: &[&str]) -> bool {
    if matches!(input_type, "password" | "email" | "tel") {
        return true;
    }
    names.iter().any(|name| {
        let name = name.to_ascii_lowercase();
        SENSITIVE_NAME_PARTS.iter().any(|part| name.contains(part))
    })
}

fn node_id(node: &Value) -> Option<u32> {
    u32_of(node, "id")
}

fn u32_of(value: &Value, key: &str) -> Option<u32> {
    value
        .get(key)
        .and_then(Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
}

fn array<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}
