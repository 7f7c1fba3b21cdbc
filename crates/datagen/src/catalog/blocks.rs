//! The building blocks of page templates: an element builder and the blocks most pages share
//! (header, footer, hero, card grid, form).
//!
//! Geometry is given at the reference width: x and width as fractions of the viewport width,
//! heights in px. Click weights say how attractive an element is (default 1); dead rates how
//! often a click on it changes nothing (default 0).

use super::pages::{PageKind, SiteKind};
use super::{Anchor, Element, ElementKind, Form, LinkTarget, stored_form};

/// Viewport width from which the wide layout (navigation bar, sidebars) is shown.
pub(crate) const WIDE_FROM_PX: i32 = 1024;

/// Where an element sits: vertical anchor, x and width as fractions of the viewport width, and
/// height in px at the reference width.
#[derive(Debug, Clone, Copy)]
pub(super) struct Place {
    anchor: Anchor,
    x: f32,
    w: f32,
    h: i32,
}

pub(super) const fn place(anchor: Anchor, x: f32, w: f32, h: i32) -> Place {
    Place { anchor, x, w, h }
}

/// A form field: selector suffix (`input[name="email"]`) and the range of typed lengths.
pub(super) type FieldSpec<'a> = (&'a str, u16, u16);

impl Element {
    /// Sets how attractive the element is to click, and how often a click on it does nothing.
    pub(super) fn clicks(&mut self, weight: f32, dead_rate: f32) -> &mut Self {
        self.click_weight = weight;
        self.dead_rate = dead_rate;
        self
    }

    pub(super) fn link_to(&mut self, target: LinkTarget) -> &mut Self {
        if let LinkTarget::External(url) = &target {
            self.stored_external_link = Some(stored_form(url));
        }
        self.link = Some(target);
        self
    }

    pub(super) fn with_text(&mut self, text: &str) -> &mut Self {
        self.text = Some(text.to_owned());
        self
    }

    pub(super) fn wide_only(&mut self) -> &mut Self {
        self.min_w = WIDE_FROM_PX;
        self
    }

    fn narrow_only(&mut self) -> &mut Self {
        self.max_w = WIDE_FROM_PX;
        self
    }

    fn typed(&mut self, min: u16, max: u16) -> &mut Self {
        self.input_len = (min, max);
        self
    }
}

/// Collects the elements of one template.
pub(super) struct Builder<'a> {
    pub(super) elements: Vec<Element>,
    host: &'a str,
    specials: &'a [(PageKind, u32)],
    next_slot: u32,
}

impl<'a> Builder<'a> {
    pub(super) fn new(host: &'a str, specials: &'a [(PageKind, u32)]) -> Self {
        Self {
            elements: Vec::with_capacity(32),
            host,
            specials,
            next_slot: 0,
        }
    }

    /// Adds an element with click weight 1 and no dead clicks.
    pub(super) fn add(&mut self, selector: &str, kind: ElementKind, at: Place) -> &mut Element {
        self.elements.push(Element {
            selector: selector.to_owned(),
            kind,
            text: None,
            link: None,
            anchor: at.anchor,
            x_frac: at.x,
            w_frac: at.w,
            h_ref: at.h,
            min_w: 0,
            max_w: i32::MAX,
            click_weight: 1.0,
            dead_rate: 0.0,
            input_len: (0, 0),
            stored_selector: stored_form(selector),
            stored_external_link: None,
        });
        self.elements.last_mut().expect("just pushed")
    }

    /// A link to the site's special page of `kind`, or to a related page if it has none.
    pub(super) fn special(&mut self, kind: PageKind) -> LinkTarget {
        match self.specials.iter().find(|(k, _)| *k == kind) {
            Some((_, rank)) => LinkTarget::Page(*rank),
            None => self.related(),
        }
    }

    /// A link to a popular page chosen per page (each call is a new slot).
    pub(super) fn related(&mut self) -> LinkTarget {
        self.next_slot += 1;
        LinkTarget::Related(self.next_slot)
    }

    /// An absolute link; `{host}` stands for the site's host.
    pub(super) fn external(&self, url: &str) -> LinkTarget {
        LinkTarget::External(url.replace("{host}", self.host))
    }

    /// Logo, navigation bar (wide screens), menu button (narrow screens) and the site's call to
    /// action; sticky (viewport-fixed) on news, docs and product sites.
    pub(super) fn header(&mut self, site: SiteKind) {
        use ElementKind::{Button, Link};
        let sticky = matches!(site, SiteKind::News | SiteKind::Docs | SiteKind::Saas);
        let at = |y| {
            if sticky {
                Anchor::Fixed(y)
            } else {
                Anchor::Top(y)
            }
        };
        self.add("header > a.logo", Link, place(at(16), 0.03, 0.12, 40))
            .link_to(LinkTarget::Page(0));
        let labels: [&str; 5] = match site {
            SiteKind::Shop => ["New in", "Women", "Men", "Home", "Sale"],
            SiteKind::News => ["World", "Business", "Tech", "Sport", "Culture"],
            SiteKind::Docs => ["Guides", "Reference", "Examples", "Changelog", "Community"],
            SiteKind::Blog => ["Posts", "About", "Contact", "Tags", "Archive"],
            SiteKind::Saas => ["Product", "Pricing", "Customers", "Docs", "Blog"],
        };
        for (i, label) in labels.iter().enumerate() {
            let selector = format!("header > nav > a:nth-of-type({})", i + 1);
            let x = 0.30 + 0.085 * i as f32;
            self.add(&selector, Link, place(at(20), x, 0.075, 32))
                .clicks(1.2, 0.0)
                .link_to(LinkTarget::Page(i as u32 + 1))
                .with_text(label)
                .wide_only();
        }
        self.add(
            "header > button.menu-toggle",
            Button,
            place(at(12), 0.84, 0.12, 44),
        )
        .clicks(1.0, 0.02)
        .narrow_only();
        let (selector, kind, text) = match site {
            SiteKind::Shop => ("header > a.cart-link", PageKind::Cart, "Cart"),
            SiteKind::News => ("header > a.subscribe", PageKind::Subscribe, "Subscribe"),
            SiteKind::Docs => ("header > a.search", PageKind::Search, "Search"),
            SiteKind::Blog => ("header > a.contact", PageKind::Contact, "Contact"),
            SiteKind::Saas => ("header > a.signup", PageKind::Signup, "Sign up"),
        };
        let target = self.special(kind);
        self.add(selector, Link, place(at(18), 0.73, 0.09, 36))
            .clicks(1.6, 0.0)
            .link_to(target)
            .with_text(text)
            .wide_only();
    }

    /// Footer links (rarely reached, rarely clicked), a `mailto:` link and social links.
    pub(super) fn footer(&mut self) {
        use Anchor::Bottom;
        use ElementKind::{Link, Text};
        for (i, label) in ["About", "Contact", "Privacy", "Careers"]
            .iter()
            .enumerate()
        {
            let selector = format!("footer > ul > li:nth-of-type({}) > a", i + 1);
            let target = match i {
                0 => self.special(PageKind::About),
                1 => self.special(PageKind::Contact),
                _ => self.related(),
            };
            self.add(
                &selector,
                Link,
                place(Bottom(260), 0.06 + 0.14 * i as f32, 0.1, 24),
            )
            .clicks(0.25, 0.0)
            .link_to(target)
            .with_text(label);
        }
        let mail = self.external("mailto:support@{host}");
        self.add("footer > a.email", Link, place(Bottom(200), 0.06, 0.2, 24))
            .clicks(0.1, 0.0)
            .link_to(mail);
        let social = [
            "https://www.instagram.com/{host}",
            "https://www.linkedin.com/company/{host}",
        ];
        for (i, url) in social.iter().enumerate() {
            let selector = format!("footer > div.social > a:nth-of-type({})", i + 1);
            let target = self.external(url);
            self.add(
                &selector,
                Link,
                place(Bottom(140), 0.06 + 0.05 * i as f32, 0.04, 32),
            )
            .clicks(0.08, 0.0)
            .link_to(target);
        }
        self.add(
            "footer > p.copyright",
            Text,
            place(Bottom(60), 0.06, 0.4, 20),
        )
        .clicks(0.05, 0.95);
    }

    /// Headline, teaser, the page's main call to action and a large image.
    pub(super) fn hero(&mut self, site: SiteKind, headline: &str, cta: &str) {
        use Anchor::Top;
        use ElementKind::{Image, Link, Text};
        self.add(
            "main > section.hero > h1",
            Text,
            place(Top(150), 0.08, 0.5, 64),
        )
        .clicks(0.4, 0.85)
        .with_text(headline);
        self.add(
            "main > section.hero > p",
            Text,
            place(Top(230), 0.08, 0.45, 60),
        )
        .clicks(0.2, 0.9);
        let target = match site {
            SiteKind::Saas => self.special(PageKind::Signup),
            _ => self.related(),
        };
        self.add(
            "main > section.hero > a.cta",
            Link,
            place(Top(320), 0.08, 0.16, 52),
        )
        .clicks(6.0, 0.0)
        .link_to(target)
        .with_text(cta);
        self.add(
            "main > section.hero > img",
            Image,
            place(Top(120), 0.55, 0.38, 400),
        )
        .clicks(0.8, 0.6);
    }

    /// A grid of linked cards, 3 per row from `y`; lower rows draw fewer clicks.
    pub(super) fn cards(&mut self, section: u32, rows: u32, y: i32, label: &str) {
        for k in 0..rows * 3 {
            let (row, column) = (k / 3, k % 3);
            let selector = format!(
                "main > section:nth-of-type({section}) > div.card:nth-of-type({}) > a",
                k + 1
            );
            let target = self.related();
            let at = place(
                Anchor::Top(y + row as i32 * 420),
                0.08 + 0.29 * column as f32,
                0.26,
                360,
            );
            self.add(&selector, ElementKind::Link, at)
                .clicks(2.0 / (1.0 + row as f32), 0.0)
                .link_to(target)
                .with_text(label);
        }
    }

    /// A form of `fields` in rows 72 px apart from `y` (or after the body, for a form below it),
    /// then its submit button.
    pub(super) fn form(
        &mut self,
        form: &str,
        fields: &[FieldSpec<'_>],
        at_y: impl Fn(i32) -> Anchor,
        submit: (&str, &str),
        start_rate: f64,
        next_page: Option<u32>,
    ) -> Form {
        let mut indices = Vec::with_capacity(fields.len());
        for (i, (name, min, max)) in fields.iter().enumerate() {
            indices.push(self.elements.len() as u16);
            let selector = format!("{form} > {name}");
            self.add(
                &selector,
                ElementKind::Field,
                place(at_y(72 * i as i32), 0.3, 0.4, 44),
            )
            .clicks(0.0, 0.0)
            .typed(*min, *max);
        }
        let submit_index = self.elements.len() as u16;
        let selector = format!("{form} > {}", submit.0);
        let at = place(at_y(72 * fields.len() as i32 + 16), 0.3, 0.2, 52);
        self.add(&selector, ElementKind::Submit, at)
            .clicks(0.0, 0.0)
            .with_text(submit.1);
        Form {
            selector: form.to_owned(),
            stored_selector: stored_form(form),
            fields: indices,
            submit: submit_index,
            start_rate,
            next_page,
        }
    }
}
