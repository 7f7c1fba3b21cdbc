//! The elements of one recorded page, rebuilt from rrweb's FullSnapshot and Mutation events, kept
//! only as far as a CSS selector path, a link and a few privacy flags need them.
//!
//! No text, no attribute values beyond `id`, `class`, `href`, `type` and the names that tell a
//! sensitive field apart are kept: the snapshot's text nodes and input values are read past.

use std::collections::HashMap;

use serde_json::Value;

/// The most elements in a selector path; the nearest ones are kept. The tracker uses the same.
pub const SELECTOR_DEPTH_MAX: usize = 12;
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

/// The node tree of one recording, bounded to `nodes_max` nodes.
#[derive(Debug, Clone, Default)]
pub struct NodeTree {
    elements: HashMap<u32, Element>,
    /// Children of every element and of the document, all node types, in document order.
    children: HashMap<u32, Vec<u32>>,
    document: Option<u32>,
    nodes: usize,
    nodes_max: usize,
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
        self.nodes
    }

    /// The id of the Document node, whose scroll is the page's scroll.
    pub fn document(&self) -> Option<u32> {
        self.document
    }

    /// Replaces the tree by a FullSnapshot's `node`.
    pub fn load_snapshot(&mut self, root: &Value) {
        self.elements.clear();
        self.children.clear();
        self.nodes = 0;
        self.document = None;
        if root.get("type").and_then(Value::as_u64) == Some(NODE_DOCUMENT) {
            self.document = node_id(root);
        }
        self.insert(root, None, None);
    }

    /// Applies a Mutation event's `removes`, `adds` and `attributes`, in rrweb's replay order.
    pub fn apply_mutation(&mut self, data: &Value) {
        for remove in array(data, "removes") {
            if let (Some(parent), Some(id)) = (u32_of(remove, "parentId"), u32_of(remove, "id")) {
                self.remove(parent, id);
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

    /// Inserts `node` and its subtree under `parent`, before `next` when given.
    fn insert(&mut self, node: &Value, parent: Option<u32>, next: Option<u32>) {
        let Some(id) = node_id(node) else { return };
        if self.nodes >= self.nodes_max {
            return;
        }
        self.nodes += 1;
        if let Some(parent) = parent {
            let siblings = self.children.entry(parent).or_default();
            match next.and_then(|next| siblings.iter().position(|&s| s == next)) {
                Some(index) => siblings.insert(index, id),
                None => siblings.push(id),
            }
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

    fn remove(&mut self, parent: u32, id: u32) {
        if let Some(siblings) = self.children.get_mut(&parent) {
            siblings.retain(|&s| s != id);
        }
        // Iteratively, so that a deep subtree cannot overflow the stack.
        let mut stack = vec![id];
        while let Some(id) = stack.pop() {
            self.nodes = self.nodes.saturating_sub(1);
            self.elements.remove(&id);
            if let Some(children) = self.children.remove(&id) {
                stack.extend(children);
            }
        }
    }

    /// The CSS selector path of element `id`, built exactly as the tracker builds it: `tag#id`
    /// stops the walk; otherwise `tag`, up to two classes and `:nth-of-type(n)` when same-tag
    /// siblings exist, joined by ` > ` below `<body>`.
    pub fn selector(&self, id: u32, bytes_max: usize) -> Option<String> {
        let mut current = self.elements.get(&id)?;
        let mut current_id = id;
        let mut parts: Vec<String> = Vec::new();
        while parts.len() < SELECTOR_DEPTH_MAX {
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
            if let Some(parent) = current.parent {
                let (index, count) = self.position_of_type(parent, current_id, &current.tag);
                if count > 1 {
                    part.push_str(&format!(":nth-of-type({index})"));
                }
            }
            parts.push(part);
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

    /// 1-based position of `id` among its parent's children of tag `tag`, and their count.
    fn position_of_type(&self, parent: u32, id: u32, tag: &str) -> (usize, usize) {
        let mut index = 0;
        let mut count = 0;
        for sibling in self.children.get(&parent).into_iter().flatten() {
            if self.elements.get(sibling).is_some_and(|e| &*e.tag == tag) {
                count += 1;
                if *sibling == id {
                    index = count;
                }
            }
        }
        (index, count)
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
