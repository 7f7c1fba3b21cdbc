//! The synthetic web: sites, their pages, and each page's layout of elements.
//!
//! A [`Catalog`] is a pure function of the configuration (seed, number of sites and pages). Its
//! memory grows with the number of pages, never with the number of events: pages of one kind on a
//! site share a [`Template`] of elements, and a page adds only its path, title and body length.
//!
//! Element boxes are given at a reference width of 1440 CSS px and re-projected for any viewport
//! ([`Site::layout`]): x and widths scale with the viewport width (a fluid, responsive layout);
//! y and heights grow as the viewport narrows (text re-flows into taller blocks); elements inside
//! fixed or sticky containers keep viewport-relative y. Some elements exist only on wide screens
//! (the navigation bar, docs sidebars) or only on narrow ones (the menu button).

mod blocks;
mod pages;
mod templates;

use crate::Result;
use crate::config::GenConfig;
use crate::rng::{Cdf, STREAM_CATALOG, hash3, rng_for, unit_from_hash};
use heatlake_model::privacy::scrub::scrub;

pub use pages::{PageKind, SiteKind, site_kind_of, site_name};

/// Width in CSS px at which element boxes are defined.
pub const REFERENCE_WIDTH_PX: i32 = 1440;
/// Height of the footer at the reference width.
pub(crate) const FOOTER_H_REF: i32 = 320;

/// Traffic share exponent of sites: site `i` gets a share proportional to `1 / (i + 1)^1`.
pub const SITE_SHARE_EXPONENT: f64 = 1.0;

/// Every site, page and layout of one configuration.
#[derive(Debug, Clone)]
pub struct Catalog {
    sites: Vec<Site>,
    site_shares: Cdf,
}

impl Catalog {
    /// Builds the catalogue of `config` (checking it first).
    pub fn new(config: &GenConfig) -> Result<Self> {
        config.check()?;
        let sites: Vec<Site> = (0..config.sites as usize)
            .map(|index| Site::new(config, index))
            .collect();
        let site_shares = Cdf::zipf(sites.len(), SITE_SHARE_EXPONENT);
        Ok(Self { sites, site_shares })
    }

    /// The sites, largest first.
    pub fn sites(&self) -> &[Site] {
        &self.sites
    }

    /// The site called `name`.
    pub fn site(&self, name: &str) -> Option<&Site> {
        self.sites.iter().find(|site| site.name == name)
    }

    /// The share of visitors that site `index` receives.
    pub fn site_share(&self, index: usize) -> f64 {
        self.site_shares.share(index)
    }

    pub(crate) fn site_shares(&self) -> &Cdf {
        &self.site_shares
    }
}

/// One site: its name, kind, pages (by popularity rank) and page templates.
#[derive(Debug, Clone)]
pub struct Site {
    /// The site name, also its host: `shop.example`.
    pub name: String,
    /// What kind of site it is, which decides its pages and layouts.
    pub kind: SiteKind,
    /// Display name used in titles: `Shop`.
    pub brand: String,
    pages: Vec<Page>,
    templates: Vec<Template>,
    page_popularity: Cdf,
    link_seed: u64,
    /// Rank of the special pages (cart, checkout, search, ...), where the site has them.
    special_pages: Vec<(PageKind, u32)>,
}

/// One page of a site.
#[derive(Debug, Clone)]
pub struct Page {
    /// The page key: host + path (`shop.example/p/linen-shirt-17`).
    pub path: String,
    /// The page title.
    pub title: String,
    /// What kind of page it is.
    pub kind: PageKind,
    /// Length of the page's variable body (article text, product description) at the reference
    /// width, in CSS px.
    pub body_h_ref: i32,
    pub(crate) template: u16,
    pub(crate) stored_path: String,
    pub(crate) stored_title: String,
}

impl Page {
    /// The URL path part (`/p/linen-shirt-17`), after the host.
    pub fn url_path(&self) -> &str {
        &self.path[self.path.find('/').unwrap_or(0)..]
    }
}

/// What an element is, which decides how visitors use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElementKind {
    /// An anchor: clicks emit `link` and usually navigate.
    Link,
    /// A button that changes the page in place.
    Button,
    /// An image: clicked often, frequently without effect (dead clicks).
    Image,
    /// A heading or paragraph: clicks are mostly dead.
    Text,
    /// A form field: focused by a click, then typed into (`input`, `change`).
    Field,
    /// A form's submit button: clicked, then the form emits `submit`.
    Submit,
}

/// Where an element's box sits vertically.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Anchor {
    /// Inside a fixed or sticky container: `y` px from the top of the viewport.
    Fixed(i32),
    /// `y` px from the top of the page.
    Top(i32),
    /// At a fraction of the page's variable body.
    Body(f32),
    /// `y` px below the end of the variable body.
    AfterBody(i32),
    /// Its top is `y` px above the bottom of the page.
    Bottom(i32),
}

/// Where a link points.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LinkTarget {
    /// A page of the same site, by rank.
    Page(u32),
    /// A page of the same site chosen per page and slot, by popularity.
    Related(u32),
    /// An absolute URL elsewhere (or a `mailto:`).
    External(String),
}

/// One element of a page template.
#[derive(Debug, Clone)]
pub struct Element {
    /// CSS selector path, as a tracker reports it (`main > section.hero > a.cta`).
    pub selector: String,
    /// What the element is.
    pub kind: ElementKind,
    /// Its short visible text, if any.
    pub text: Option<String>,
    pub(crate) link: Option<LinkTarget>,
    pub(crate) anchor: Anchor,
    pub(crate) x_frac: f32,
    pub(crate) w_frac: f32,
    pub(crate) h_ref: i32,
    /// Shown when `min_w <= viewport_w < max_w`.
    pub(crate) min_w: i32,
    pub(crate) max_w: i32,
    /// Relative likelihood of a click when visible.
    pub(crate) click_weight: f32,
    /// Probability that a click on it changes nothing.
    pub(crate) dead_rate: f32,
    /// Typed length range of a field, in characters.
    pub(crate) input_len: (u16, u16),
    /// The selector, text and external link as privacy scrubbing stores them.
    pub(crate) stored_selector: String,
    pub(crate) stored_external_link: Option<String>,
}

/// A form on a template: its fields in the order they are filled, and its submit button.
#[derive(Debug, Clone)]
pub(crate) struct Form {
    pub(crate) selector: String,
    pub(crate) stored_selector: String,
    pub(crate) fields: Vec<u16>,
    pub(crate) submit: u16,
    /// Probability that a visitor who sees the form starts filling it in.
    pub(crate) start_rate: f64,
    /// Page rank a successful submit leads to; `None`: the same page again (search results).
    pub(crate) next_page: Option<u32>,
}

/// The element layout shared by the pages of one kind on one site.
#[derive(Debug, Clone)]
pub struct Template {
    /// The page kind it lays out.
    pub kind: PageKind,
    /// The elements, in document order.
    pub elements: Vec<Element>,
    pub(crate) body_start_ref: i32,
    pub(crate) after_h_ref: i32,
    pub(crate) form: Option<Form>,
}

/// An element's box on a page at one viewport width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElementBox {
    /// Index of the element in its template.
    pub element: usize,
    /// Left edge, page px.
    pub x: i32,
    /// Top edge: page px, or viewport px when `fixed`.
    pub y: i32,
    /// Width in px (at least 1).
    pub w: i32,
    /// Height in px (at least 1).
    pub h: i32,
    /// Inside a fixed or sticky container: `y` is relative to the viewport.
    pub fixed: bool,
}

/// A page laid out at one viewport width.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageLayout {
    /// Document height in px; may be less than the viewport height.
    pub doc_h: i32,
    /// Boxes of the elements shown at this width, in document order.
    pub boxes: Vec<ElementBox>,
}

/// Rounds a non-negative px value to the nearest integer (halves up), without a libm call.
#[inline]
fn round_px(px: f64) -> i32 {
    debug_assert!(px >= 0.0);
    (px + 0.5) as i32
}

/// How much taller the layout gets at `viewport_w` than at the reference width.
pub fn height_scale(viewport_w: i32) -> f64 {
    (f64::from(REFERENCE_WIDTH_PX) / f64::from(viewport_w.max(1)))
        .powf(0.6)
        .clamp(1.0, 2.5)
}

impl Site {
    fn new(config: &GenConfig, index: usize) -> Self {
        let name = site_name(index);
        let kind = site_kind_of(index);
        let mut rng = rng_for(config.seed, STREAM_CATALOG, index as u64);
        let brand = pages::brand_of(&name);
        let plan = pages::plan(
            kind,
            config.pages_per_site as usize,
            &name,
            &brand,
            &mut rng,
        );
        let special_pages = plan.special_pages;
        let mut templates: Vec<Template> = Vec::new();
        let mut pages = Vec::with_capacity(plan.pages.len());
        for planned in plan.pages {
            let template = match templates.iter().position(|t| t.kind == planned.kind) {
                Some(existing) => existing,
                None => {
                    templates.push(templates::build(
                        kind,
                        planned.kind,
                        &name,
                        &brand,
                        &special_pages,
                    ));
                    templates.len() - 1
                }
            };
            let stored_path = scrub(&planned.path).into_owned();
            let stored_title = scrub(&planned.title).into_owned();
            pages.push(Page {
                path: planned.path,
                title: planned.title,
                kind: planned.kind,
                body_h_ref: planned.body_h_ref,
                template: u16::try_from(template).expect("fewer than 65536 templates"),
                stored_path,
                stored_title,
            });
        }
        let page_popularity = Cdf::zipf(pages.len(), config.page_popularity_exponent);
        Self {
            name,
            kind,
            brand,
            pages,
            templates,
            page_popularity,
            link_seed: hash3(config.seed, STREAM_CATALOG, index as u64 ^ 0x4c49_4e4b),
            special_pages,
        }
    }

    /// The pages, most popular first (rank 0 is the home page).
    pub fn pages(&self) -> &[Page] {
        &self.pages
    }

    /// The rank of the page whose key (host + path) is `path`.
    pub fn page_rank(&self, path: &str) -> Option<usize> {
        self.pages.iter().position(|page| page.path == path)
    }

    /// The template page `rank` is laid out with.
    pub fn template_of(&self, rank: usize) -> &Template {
        &self.templates[usize::from(self.pages[rank].template)]
    }

    /// The rank of the site's page of a special kind (cart, checkout, search, ...), if it has one.
    pub fn special_page(&self, kind: PageKind) -> Option<usize> {
        self.special_pages
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, rank)| *rank as usize)
    }

    /// Page `rank` laid out at `viewport_w`.
    pub fn layout(&self, rank: usize, viewport_w: i32) -> PageLayout {
        let mut layout = PageLayout::default();
        self.layout_into(rank, viewport_w, &mut layout);
        layout
    }

    pub(crate) fn page_popularity(&self) -> &Cdf {
        &self.page_popularity
    }

    /// Lays page `rank` out at `viewport_w` into `layout`, reusing its allocation.
    pub(crate) fn layout_into(&self, rank: usize, viewport_w: i32, layout: &mut PageLayout) {
        let page = &self.pages[rank];
        let template = &self.templates[usize::from(page.template)];
        let scale = height_scale(viewport_w);
        let body_h = page.body_h_ref;
        let doc_h_ref = template.body_start_ref + body_h + template.after_h_ref + FOOTER_H_REF;
        let width = f64::from(viewport_w);
        layout.doc_h = round_px(f64::from(doc_h_ref) * scale);
        layout.boxes.clear();
        for (index, element) in template.elements.iter().enumerate() {
            if viewport_w < element.min_w || viewport_w >= element.max_w {
                continue;
            }
            let (y_ref, fixed) = match element.anchor {
                Anchor::Fixed(y) => (y, true),
                Anchor::Top(y) => (y, false),
                Anchor::Body(fraction) => (
                    template.body_start_ref + (fraction * body_h as f32) as i32,
                    false,
                ),
                Anchor::AfterBody(y) => (template.body_start_ref + body_h + y, false),
                Anchor::Bottom(y) => (doc_h_ref - y, false),
            };
            let (y, h) = if fixed {
                (y_ref, element.h_ref)
            } else {
                (
                    round_px(f64::from(y_ref) * scale),
                    round_px(f64::from(element.h_ref) * scale),
                )
            };
            let x = round_px(f64::from(element.x_frac) * width);
            let w = round_px(f64::from(element.w_frac) * width);
            layout.boxes.push(ElementBox {
                element: index,
                x,
                y,
                w: w.max(1),
                h: h.max(1),
                fixed,
            });
        }
    }

    /// The rank of the page a link on page `rank` points to, if it points inside the site.
    pub(crate) fn link_rank(&self, rank: usize, target: &LinkTarget) -> Option<usize> {
        let last = self.pages.len() - 1;
        match target {
            LinkTarget::Page(to) => Some((*to as usize).min(last)),
            LinkTarget::Related(slot) => {
                let hash = hash3(self.link_seed, rank as u64, u64::from(*slot));
                let to = self.page_popularity.index_of(unit_from_hash(hash));
                // A page rarely links to itself: take the next one instead.
                Some(if to == rank && last > 0 {
                    (to + 1) % (last + 1)
                } else {
                    to
                })
            }
            LinkTarget::External(_) => None,
        }
    }

    /// Writes the href of `element` on page `rank` into `raw`; false when it is not a link.
    pub(crate) fn write_href(&self, rank: usize, element: &Element, raw: &mut String) -> bool {
        raw.clear();
        match &element.link {
            None => false,
            Some(LinkTarget::External(url)) => {
                raw.push_str(url);
                true
            }
            Some(target) => {
                let to = self.link_rank(rank, target).expect("internal link");
                raw.push_str("https://");
                raw.push_str(&self.pages[to].path);
                true
            }
        }
    }
}

/// `text` as the privacy scrubber stores it: computed once per catalogue string, so that the
/// Parquet writer does not scrub per event.
pub(crate) fn stored_form(text: &str) -> String {
    scrub(text).into_owned()
}
