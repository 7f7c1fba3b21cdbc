//! Page templates: the elements of each kind of page, placed at the reference width.
//!
//! Every template is a header, the page's own blocks and a footer (see [`super::blocks`]). A
//! page's variable body (article text, product description, search results) starts at
//! `body_start_ref`; what follows it is `after_h_ref` tall, then comes the footer.

use super::blocks::{Builder, FieldSpec, place};
use super::pages::{PageKind, SiteKind};
use super::{Anchor, ElementKind, Form, Template};
use Anchor::{AfterBody, Body, Fixed, Top};
use ElementKind::{Button, Image, Link, Text};

/// What a page kind's blocks add to the template besides elements.
struct Shape {
    body_start_ref: i32,
    after_h_ref: i32,
    form: Option<Form>,
}

const fn shape(body_start_ref: i32, after_h_ref: i32) -> Shape {
    Shape {
        body_start_ref,
        after_h_ref,
        form: None,
    }
}

/// The template of pages of `page` kind on a site of `site` kind.
pub(crate) fn build(
    site: SiteKind,
    page: PageKind,
    host: &str,
    brand: &str,
    specials: &[(PageKind, u32)],
) -> Template {
    let mut b = Builder::new(host, specials);
    b.header(site);
    let shape = match page {
        PageKind::Home => home(&mut b, site),
        PageKind::Listing => listing(&mut b, brand),
        PageKind::Product => product(&mut b),
        PageKind::Article => article(&mut b),
        PageKind::Guide => guide(&mut b),
        PageKind::Search => search(&mut b),
        PageKind::Cart => cart(&mut b),
        PageKind::Checkout => checkout(&mut b),
        PageKind::Login | PageKind::Signup | PageKind::Contact | PageKind::Subscribe => {
            account_form(&mut b, page)
        }
        PageKind::Pricing => pricing(&mut b),
        PageKind::About => about(&mut b),
    };
    b.footer();
    debug_assert!(
        b.elements.len() <= 40,
        "{page:?} has {} elements",
        b.elements.len()
    );
    Template {
        kind: page,
        elements: b.elements,
        body_start_ref: shape.body_start_ref,
        after_h_ref: shape.after_h_ref,
        form: shape.form,
    }
}

fn home(b: &mut Builder<'_>, site: SiteKind) -> Shape {
    let (headline, cta) = match site {
        SiteKind::Shop => ("The autumn edit", "Shop the sale"),
        SiteKind::News => ("Today's top stories", "Read the briefing"),
        SiteKind::Docs => ("Build with confidence", "Get started"),
        SiteKind::Blog => ("Writing about small things", "Start reading"),
        SiteKind::Saas => ("Work together, ship faster", "Start free trial"),
    };
    b.hero(site, headline, cta);
    b.cards(2, 3, 620, "Read more");
    shape(1_900, 200)
}

fn listing(b: &mut Builder<'_>, brand: &str) -> Shape {
    b.add("main > h1", Text, place(Top(120), 0.08, 0.5, 56))
        .clicks(0.2, 0.9)
        .with_text(brand);
    for i in 0..3 {
        let selector = format!("main > aside > button.filter:nth-of-type({})", i + 1);
        b.add(&selector, Button, place(Top(220 + 48 * i), 0.02, 0.05, 36))
            .clicks(0.9, 0.05)
            .wide_only();
    }
    b.cards(2, 3, 220, "View");
    let next = b.related();
    b.add(
        "main > nav.pagination > a.next",
        Link,
        place(AfterBody(40), 0.45, 0.1, 40),
    )
    .clicks(1.2, 0.0)
    .link_to(next)
    .with_text("Next page");
    shape(1_500, 160)
}

fn product(b: &mut Builder<'_>) -> Shape {
    b.add(
        "main > div.gallery > img",
        Image,
        place(Top(120), 0.05, 0.5, 560),
    )
    .clicks(2.0, 0.55);
    b.add(
        "main > div.gallery > button.next",
        Button,
        place(Top(380), 0.5, 0.04, 48),
    )
    .clicks(1.4, 0.08);
    b.add(
        "main > div.buy-box > h1",
        Text,
        place(Top(130), 0.6, 0.35, 80),
    )
    .clicks(0.3, 0.9);
    b.add(
        "main > div.buy-box > select.size",
        Button,
        place(Top(300), 0.6, 0.2, 44),
    )
    .clicks(1.5, 0.0);
    b.add(
        "main > div.buy-box > button.add-to-cart",
        Button,
        place(Top(370), 0.6, 0.3, 56),
    )
    .clicks(7.0, 0.02)
    .with_text("Add to cart");
    let size_guide = b.related();
    b.add(
        "main > div.buy-box > a.size-guide",
        Link,
        place(Top(440), 0.6, 0.1, 24),
    )
    .clicks(0.4, 0.0)
    .link_to(size_guide)
    .with_text("Size guide");
    for i in 0..3 {
        let selector = format!("main > section.description > p:nth-of-type({})", i + 1);
        b.add(&selector, Text, place(Body(0.3 * i as f32), 0.1, 0.8, 90))
            .clicks(0.1, 0.95);
    }
    let reviews = place(AfterBody(320), 0.1, 0.2, 44);
    b.add(
        "main > section.reviews > button.more-reviews",
        Button,
        reviews,
    )
    .clicks(0.8, 0.12)
    .with_text("More reviews");
    for i in 0..4 {
        let selector = format!(
            "main > section.related > div.card:nth-of-type({}) > a",
            i + 1
        );
        let target = b.related();
        b.add(
            &selector,
            Link,
            place(AfterBody(480), 0.05 + 0.23 * i as f32, 0.2, 300),
        )
        .link_to(target);
    }
    shape(760, 900)
}

/// Title, author, lead image and links inside the body text: shared by articles and guides.
fn article_top(b: &mut Builder<'_>) {
    b.add(
        "article > header > h1",
        Text,
        place(Top(140), 0.2, 0.6, 100),
    )
    .clicks(0.2, 0.9);
    let author = b.related();
    b.add(
        "article > header > a.author",
        Link,
        place(Top(250), 0.2, 0.12, 24),
    )
    .clicks(0.3, 0.0)
    .link_to(author);
    b.add(
        "article > figure > img",
        Image,
        place(Top(300), 0.2, 0.6, 420),
    )
    .clicks(0.5, 0.7);
    for (i, paragraph) in [3, 7, 12].iter().enumerate() {
        let selector = format!("article > div.body > p:nth-of-type({paragraph}) > a");
        let target = b.related();
        let at = place(Body(0.15 + 0.3 * i as f32), 0.25 + 0.1 * i as f32, 0.15, 24);
        b.add(&selector, Link, at).clicks(0.9, 0.0).link_to(target);
    }
}

fn article(b: &mut Builder<'_>) -> Shape {
    article_top(b);
    let share = b.external("https://x.com/intent/post");
    b.add(
        "article > footer > a.share",
        Link,
        place(AfterBody(40), 0.2, 0.04, 32),
    )
    .clicks(0.15, 0.0)
    .link_to(share);
    for i in 0..4 {
        let selector = format!("aside.related > a:nth-of-type({})", i + 1);
        let target = b.related();
        b.add(
            &selector,
            Link,
            place(AfterBody(160 + 80 * i), 0.2, 0.5, 60),
        )
        .link_to(target);
    }
    let comments = place(AfterBody(520), 0.2, 0.2, 44);
    b.add("section.comments > button.load-comments", Button, comments)
        .clicks(0.5, 0.15)
        .with_text("Show comments");
    let fields: [FieldSpec<'_>; 1] = [("input[name=\"email\"]", 12, 32)];
    let submit = ("button[type=\"submit\"]", "Subscribe");
    let form = b.form(
        "form.newsletter",
        &fields,
        |y| AfterBody(600 + y),
        submit,
        0.04,
        None,
    );
    Shape {
        form: Some(form),
        ..shape(760, 800)
    }
}

fn guide(b: &mut Builder<'_>) -> Shape {
    for i in 0..6 {
        let selector = format!("nav.sidebar > a:nth-of-type({})", i + 1);
        let target = b.related();
        b.add(&selector, Link, place(Fixed(120 + 36 * i), 0.02, 0.16, 28))
            .clicks(1.1, 0.0)
            .link_to(target)
            .wide_only();
    }
    article_top(b);
    for i in 0..2 {
        let selector = format!("article > pre:nth-of-type({}) > button.copy", i + 1);
        b.add(
            &selector,
            Button,
            place(Body(0.25 + 0.4 * i as f32), 0.74, 0.05, 32),
        )
        .clicks(1.5, 0.03);
    }
    let feedback = place(AfterBody(40), 0.2, 0.06, 36);
    b.add("article > div.feedback > button.yes", Button, feedback)
        .clicks(0.4, 0.0);
    let next = b.related();
    b.add(
        "article > nav.pager > a.next",
        Link,
        place(AfterBody(120), 0.6, 0.2, 48),
    )
    .clicks(2.0, 0.0)
    .link_to(next)
    .with_text("Next");
    shape(760, 800)
}

fn search(b: &mut Builder<'_>) -> Shape {
    let fields: [FieldSpec<'_>; 1] = [("input[name=\"q\"]", 3, 28)];
    let submit = ("button[type=\"submit\"]", "Search");
    let form = b.form(
        "form[role=\"search\"]",
        &fields,
        |y| Top(120 + y),
        submit,
        0.7,
        None,
    );
    for i in 0..8 {
        let selector = format!("main > ol.results > li:nth-of-type({}) > a", i + 1);
        let target = b.related();
        b.add(&selector, Link, place(Body(i as f32 / 8.0), 0.1, 0.6, 40))
            .clicks(2.0 / (1.0 + i as f32), 0.0)
            .link_to(target);
    }
    Shape {
        form: Some(form),
        ..shape(300, 120)
    }
}

fn cart(b: &mut Builder<'_>) -> Shape {
    for i in 0..2 {
        let selector = format!(
            "main > table.cart > tr:nth-of-type({}) > button.remove",
            i + 1
        );
        b.add(&selector, Button, place(Top(180 + 90 * i), 0.75, 0.08, 36))
            .clicks(0.6, 0.05);
    }
    let checkout = b.special(PageKind::Checkout);
    b.add("main > a.checkout", Link, place(Top(400), 0.65, 0.25, 56))
        .clicks(6.0, 0.0)
        .link_to(checkout)
        .with_text("Checkout");
    shape(470, 0)
}

fn checkout(b: &mut Builder<'_>) -> Shape {
    let fields: [FieldSpec<'_>; 7] = [
        ("input[name=\"email\"]", 10, 32),
        ("input[name=\"name\"]", 6, 28),
        ("input[name=\"address\"]", 10, 40),
        ("input[name=\"postcode\"]", 4, 8),
        ("input[name=\"card-number\"]", 16, 19),
        ("input[name=\"expiry\"]", 5, 5),
        ("input[name=\"cvc\"]", 3, 4),
    ];
    let submit = ("button.pay", "Pay now");
    let form = b.form(
        "form#checkout",
        &fields,
        |y| Top(160 + y),
        submit,
        0.6,
        Some(0),
    );
    // A coupon button that does nothing: the shop's rage-click magnet.
    b.add(
        "form#checkout > button.apply-coupon",
        Button,
        place(Top(700), 0.72, 0.12, 44),
    )
    .clicks(1.5, 0.85)
    .with_text("Apply");
    Shape {
        form: Some(form),
        ..shape(760, 0)
    }
}

/// Login, sign-up, contact and subscription pages: a short page around one form.
fn account_form(b: &mut Builder<'_>, page: PageKind) -> Shape {
    let submit = |label| ("button[type=\"submit\"]", label);
    let (selector, fields, submit): (&str, &[FieldSpec<'_>], _) = match page {
        PageKind::Login => (
            "form#login",
            &[
                ("input[name=\"email\"]", 10, 32),
                ("input[type=\"password\"]", 8, 20),
            ],
            submit("Log in"),
        ),
        PageKind::Signup => (
            "form#signup",
            &[
                ("input[name=\"name\"]", 6, 28),
                ("input[name=\"email\"]", 10, 32),
                ("input[type=\"password\"]", 10, 24),
                ("input[name=\"company\"]", 3, 24),
            ],
            submit("Create account"),
        ),
        PageKind::Contact => (
            "form#contact",
            &[
                ("input[name=\"name\"]", 6, 28),
                ("input[name=\"email\"]", 10, 32),
                ("textarea[name=\"message\"]", 20, 600),
            ],
            submit("Send"),
        ),
        _ => (
            "form#subscribe",
            &[("input[name=\"email\"]", 10, 32)],
            submit("Subscribe"),
        ),
    };
    // A login leads home; the other forms to the site's second page.
    let next = Some(if page == PageKind::Login { 0 } else { 1 });
    let form = b.form(selector, fields, |y| Top(170 + y), submit, 0.55, next);
    if page == PageKind::Login {
        let target = b.special(PageKind::Signup);
        b.add(
            "form#login > a.forgot",
            Link,
            place(Top(400), 0.3, 0.15, 24),
        )
        .clicks(0.6, 0.0)
        .link_to(target)
        .with_text("Forgot password?");
    }
    Shape {
        form: Some(form),
        ..shape(200 + 72 * fields.len() as i32 + 100, 0)
    }
}

fn pricing(b: &mut Builder<'_>) -> Shape {
    for i in 0..3 {
        let selector = format!(
            "main > section.plans > div.plan:nth-of-type({}) > a.choose",
            i + 1
        );
        let target = b.special(PageKind::Signup);
        let weight = if i == 1 { 4.0 } else { 2.0 };
        b.add(
            &selector,
            Link,
            place(Top(560), 0.1 + 0.28 * i as f32, 0.22, 52),
        )
        .clicks(weight, 0.0)
        .link_to(target)
        .with_text("Choose plan");
    }
    let toggle = place(Top(200), 0.42, 0.16, 40);
    b.add(
        "main > section.plans > button.billing-toggle",
        Button,
        toggle,
    );
    for i in 0..4 {
        let selector = format!(
            "main > section.faq > details:nth-of-type({}) > summary",
            i + 1
        );
        b.add(
            &selector,
            Button,
            place(Body(0.25 * i as f32), 0.15, 0.7, 48),
        )
        .clicks(0.7, 0.0);
    }
    shape(700, 100)
}

fn about(b: &mut Builder<'_>) -> Shape {
    b.add("main > h1", Text, place(Top(140), 0.1, 0.5, 56))
        .clicks(0.2, 0.9)
        .with_text("About us");
    b.add("main > img.team", Image, place(Top(220), 0.1, 0.8, 160))
        .clicks(0.6, 0.8);
    let contact = b.special(PageKind::Contact);
    b.add(
        "main > a.contact",
        Link,
        place(AfterBody(10), 0.1, 0.12, 36),
    )
    .link_to(contact)
    .with_text("Get in touch");
    shape(400, 60)
}
