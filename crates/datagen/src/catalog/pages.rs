//! Which pages a site has, in popularity order, with their paths, titles and body lengths.

use rand::Rng;
use rand::rngs::SmallRng;

/// What kind of site, which decides its pages and their layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SiteKind {
    /// An online shop: categories, products, cart, checkout.
    Shop,
    /// A news site: sections and long articles, sticky header.
    News,
    /// Documentation: guides with a sticky sidebar, search.
    Docs,
    /// A blog: posts, tags, a contact form.
    Blog,
    /// A software product: landing page, pricing, sign-up and login forms.
    Saas,
}

/// What kind of page, which decides its template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PageKind {
    /// The home page (rank 0).
    Home,
    /// A category, section or tag page: a grid of cards.
    Listing,
    /// A product page with an add-to-cart button.
    Product,
    /// A long article or blog post.
    Article,
    /// A documentation page with a sticky sidebar.
    Guide,
    /// Search results, with a search field.
    Search,
    /// The shopping cart: a short page.
    Cart,
    /// The checkout form.
    Checkout,
    /// A login form: a short page.
    Login,
    /// A sign-up form.
    Signup,
    /// A contact form.
    Contact,
    /// A newsletter subscription form.
    Subscribe,
    /// Pricing plans.
    Pricing,
    /// About the site: a short page.
    About,
}

const NAMED_SITES: [(&str, SiteKind); 12] = [
    ("shop.example", SiteKind::Shop),
    ("news.example", SiteKind::News),
    ("docs.example", SiteKind::Docs),
    ("blog.example", SiteKind::Blog),
    ("app.example", SiteKind::Saas),
    ("travel.example", SiteKind::Shop),
    ("forum.example", SiteKind::News),
    ("recipes.example", SiteKind::Blog),
    ("api.example", SiteKind::Docs),
    ("bank.example", SiteKind::Saas),
    ("books.example", SiteKind::Shop),
    ("sport.example", SiteKind::News),
];

const KIND_CYCLE: [SiteKind; 5] = [
    SiteKind::Shop,
    SiteKind::News,
    SiteKind::Docs,
    SiteKind::Blog,
    SiteKind::Saas,
];

/// The name of site `index`: the named sites first, then `site-N.example`.
pub fn site_name(index: usize) -> String {
    match NAMED_SITES.get(index) {
        Some((name, _)) => (*name).to_owned(),
        None => format!("site-{index}.example"),
    }
}

/// The kind of site `index`.
pub fn site_kind_of(index: usize) -> SiteKind {
    match NAMED_SITES.get(index) {
        Some((_, kind)) => *kind,
        None => KIND_CYCLE[index % KIND_CYCLE.len()],
    }
}

pub(crate) fn brand_of(name: &str) -> String {
    let label = name.split('.').next().unwrap_or(name);
    let mut chars = label.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

const ADJECTIVES: [&str; 32] = [
    "linen",
    "classic",
    "quiet",
    "bright",
    "compact",
    "urban",
    "wild",
    "golden",
    "simple",
    "modern",
    "rapid",
    "gentle",
    "bold",
    "hidden",
    "open",
    "silver",
    "coastal",
    "northern",
    "tiny",
    "grand",
    "practical",
    "curious",
    "honest",
    "early",
    "late",
    "green",
    "frozen",
    "warm",
    "clear",
    "secret",
    "daily",
    "final",
];

const NOUNS: [&str; 40] = [
    "shirt", "lamp", "kettle", "backpack", "chair", "notebook", "jacket", "speaker", "bottle",
    "blanket", "garden", "market", "harbour", "river", "station", "library", "bridge", "museum",
    "forest", "island", "engine", "pipeline", "server", "index", "query", "cache", "window",
    "ticket", "recipe", "journey", "budget", "election", "festival", "season", "league", "startup",
    "policy", "climate", "city", "network",
];

const SECTIONS: [&str; 8] = [
    "world", "business", "tech", "sport", "culture", "science", "travel", "opinion",
];

const CATEGORIES: [&str; 12] = [
    "women",
    "men",
    "home",
    "kitchen",
    "outdoor",
    "electronics",
    "books",
    "toys",
    "sale",
    "garden",
    "beauty",
    "sports",
];

const DOC_TOPICS: [&str; 10] = [
    "getting-started",
    "installation",
    "configuration",
    "deployment",
    "security",
    "queries",
    "storage",
    "monitoring",
    "upgrading",
    "troubleshooting",
];

/// One planned page.
pub(crate) struct PlannedPage {
    pub(crate) kind: PageKind,
    pub(crate) path: String,
    pub(crate) title: String,
    pub(crate) body_h_ref: i32,
}

/// The pages of a site, by rank, and the ranks of its special pages.
pub(crate) struct Plan {
    pub(crate) pages: Vec<PlannedPage>,
    pub(crate) special_pages: Vec<(PageKind, u32)>,
}

/// Special pages and the rank each takes on a site of `kind` (when the site has that many pages).
fn specials(kind: SiteKind) -> &'static [(u32, PageKind)] {
    use PageKind::*;
    match kind {
        SiteKind::Shop => &[
            (0, Home),
            (1, Listing),
            (2, Listing),
            (3, Search),
            (4, Cart),
            (7, Checkout),
            (12, Login),
            (25, About),
        ],
        SiteKind::News => &[
            (0, Home),
            (1, Listing),
            (2, Listing),
            (3, Listing),
            (4, Listing),
            (5, Search),
            (9, Subscribe),
            (30, About),
        ],
        SiteKind::Docs => &[
            (0, Home),
            (1, Listing),
            (2, Search),
            (3, Listing),
            (40, About),
        ],
        SiteKind::Blog => &[(0, Home), (1, About), (2, Contact), (3, Listing)],
        SiteKind::Saas => &[
            (0, Home),
            (1, Pricing),
            (2, Signup),
            (3, Login),
            (6, Contact),
            (10, Listing),
            (20, About),
        ],
    }
}

/// The kind of an ordinary (non-special) page at `rank`.
fn ordinary_kind(kind: SiteKind, rank: u32) -> PageKind {
    match kind {
        SiteKind::Shop if rank % 8 == 5 => PageKind::Listing,
        SiteKind::Shop => PageKind::Product,
        SiteKind::News if rank.is_multiple_of(15) => PageKind::Listing,
        SiteKind::News => PageKind::Article,
        SiteKind::Docs => PageKind::Guide,
        SiteKind::Blog if rank.is_multiple_of(12) => PageKind::Listing,
        SiteKind::Blog => PageKind::Article,
        SiteKind::Saas if rank.is_multiple_of(2) => PageKind::Guide,
        SiteKind::Saas => PageKind::Article,
    }
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn pick<'a>(rng: &mut SmallRng, words: &[&'a str]) -> &'a str {
    words[rng.random_range(0..words.len())]
}

/// The pages of a site of `kind` with `count` pages.
pub(crate) fn plan(
    kind: SiteKind,
    count: usize,
    host: &str,
    brand: &str,
    rng: &mut SmallRng,
) -> Plan {
    let mut pages = Vec::with_capacity(count);
    let mut special_pages = Vec::new();
    let mut listings = 0usize;
    for rank in 0..count as u32 {
        let special = specials(kind)
            .iter()
            .find(|(r, _)| *r == rank)
            .map(|(_, k)| *k);
        let page_kind = special.unwrap_or_else(|| ordinary_kind(kind, rank));
        if special.is_some() && page_kind != PageKind::Listing {
            special_pages.push((page_kind, rank));
        }
        let (path, title) = match page_kind {
            PageKind::Listing => {
                listings += 1;
                listing_page(kind, listings, brand)
            }
            _ => page_path_and_title(kind, page_kind, rank, brand, rng),
        };
        let body_h_ref = body_length(page_kind, rng);
        pages.push(PlannedPage {
            kind: page_kind,
            path: format!("{host}{path}"),
            title,
            body_h_ref,
        });
    }
    Plan {
        pages,
        special_pages,
    }
}

fn listing_page(kind: SiteKind, number: usize, brand: &str) -> (String, String) {
    let (words, prefix): (&[&str], &str) = match kind {
        SiteKind::Shop => (&CATEGORIES, "/c/"),
        SiteKind::News => (&SECTIONS, "/"),
        SiteKind::Docs => (&["guides", "reference"], "/"),
        SiteKind::Blog => (&NOUNS, "/tags/"),
        SiteKind::Saas => (&["customers"], "/"),
    };
    let word = words[(number - 1) % words.len()];
    let round = (number - 1) / words.len();
    let path = if round == 0 {
        format!("{prefix}{word}")
    } else {
        format!("{prefix}{word}-{}", round + 1)
    };
    (path, format!("{} – {brand}", capitalise(word)))
}

fn page_path_and_title(
    kind: SiteKind,
    page_kind: PageKind,
    rank: u32,
    brand: &str,
    rng: &mut SmallRng,
) -> (String, String) {
    let adjective = pick(rng, &ADJECTIVES);
    let noun = pick(rng, &NOUNS);
    let slug = format!("{adjective}-{noun}-{rank}");
    let words = format!("{} {noun}", capitalise(adjective));
    let fixed = |path: &str, title: &str| (path.to_owned(), format!("{title} – {brand}"));
    match page_kind {
        PageKind::Home => ("/".to_owned(), format!("{brand} – {}", home_tagline(kind))),
        PageKind::Search => fixed("/search", "Search"),
        PageKind::Cart => fixed("/cart", "Your cart"),
        PageKind::Checkout => fixed("/checkout", "Checkout"),
        PageKind::Login if kind == SiteKind::Shop => fixed("/account/login", "Sign in"),
        PageKind::Login => fixed("/login", "Log in"),
        PageKind::Signup => fixed("/signup", "Create your account"),
        PageKind::Contact => fixed("/contact", "Contact"),
        PageKind::Subscribe => fixed("/subscribe", "Subscribe"),
        PageKind::Pricing => fixed("/pricing", "Pricing"),
        PageKind::About => fixed("/about", "About us"),
        PageKind::Product => (format!("/p/{slug}"), format!("{words} – {brand}")),
        PageKind::Article => {
            let (path, title) = match kind {
                SiteKind::News => (
                    format!("/{}/{slug}", pick(rng, &SECTIONS)),
                    format!("How the {adjective} {noun} changed everything"),
                ),
                SiteKind::Saas => (format!("/blog/{slug}"), format!("{words}: what we learned")),
                _ => (
                    format!("/posts/{slug}"),
                    format!("Notes on a {adjective} {noun}"),
                ),
            };
            (path, format!("{title} – {brand}"))
        }
        PageKind::Guide | PageKind::Listing => {
            let topic = pick(rng, &DOC_TOPICS);
            let path = match kind {
                SiteKind::Saas => format!("/features/{slug}"),
                _ if rank.is_multiple_of(3) => format!("/reference/{slug}"),
                _ => format!("/guides/{topic}-{rank}"),
            };
            (
                path,
                format!(
                    "{} – {words} – {brand}",
                    capitalise(&topic.replace('-', " "))
                ),
            )
        }
    }
}

fn home_tagline(kind: SiteKind) -> &'static str {
    match kind {
        SiteKind::Shop => "Everyday things, made well",
        SiteKind::News => "News you can trust",
        SiteKind::Docs => "Documentation",
        SiteKind::Blog => "Notes and essays",
        SiteKind::Saas => "Ship faster together",
    }
}

/// Length of a page's variable body at the reference width: long-tailed for articles.
fn body_length(kind: PageKind, rng: &mut SmallRng) -> i32 {
    let (min, max) = match kind {
        PageKind::Home => (0, 400),
        PageKind::Listing => (0, 900),
        PageKind::Product => (300, 1_600),
        PageKind::Article => (1_500, 9_000),
        PageKind::Guide => (1_200, 7_000),
        PageKind::Search => (200, 1_200),
        PageKind::Pricing => (400, 1_200),
        PageKind::Checkout => (0, 200),
        PageKind::Cart | PageKind::Login | PageKind::Signup | PageKind::About => (0, 120),
        PageKind::Contact | PageKind::Subscribe => (0, 300),
    };
    // Skewed towards short bodies: most articles are short, a few are very long.
    let u: f64 = rng.random::<f64>();
    min + (f64::from(max - min) * u * u) as i32
}
