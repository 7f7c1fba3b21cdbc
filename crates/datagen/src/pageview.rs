//! One page view as events: the `pageview`, then reading stops with scrolling, pointer moves,
//! clicks, form input and visibility changes, and finally the `leave` summary.

use std::fmt::Write;

use heatlake_model::EventType;
use rand::Rng;
use rand::rngs::SmallRng;

use crate::behaviour::*;
use crate::catalog::{
    Element, ElementBox, ElementKind, Form, LinkTarget, PageKind, PageLayout, Template,
};
use crate::devices::{Device, DeviceClass};
use crate::record::{GenEvent, PageviewContext, Sink, Text};
use crate::rng::{chance, exponential_ms, log_uniform_ms, mix64, normalish};
use crate::session::{Halt, Out};

/// Buffers reused from one page view to the next.
pub(crate) struct Scratch {
    pub(crate) layout: PageLayout,
    /// Indices into `layout.boxes` of the boxes visible at the current scroll position.
    pub(crate) visible: Vec<usize>,
    pub(crate) href: String,
    pub(crate) props: String,
}

/// Where the session goes after a page view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// To this page (a clicked link or a submitted form).
    Page(usize),
    /// To a page chosen by popularity (navigation the events do not show).
    Anywhere,
    /// Nowhere: the visitor left the site.
    Exit,
}

/// How a page view ended.
pub(crate) struct PageviewEnd {
    pub(crate) end_ms: i64,
    pub(crate) next: Next,
}

/// The state of one page view being generated.
pub(crate) struct PageviewRun<'r, 'c, 'p, S> {
    out: &'r mut Out<'p, S>,
    scratch: &'r mut Scratch,
    context: &'r PageviewContext<'c>,
    template: &'c Template,
    rank: usize,
    desktop: bool,
    start_ms: i64,
    t: i64,
    seq: i32,
    viewport_w: i32,
    viewport_h: i32,
    doc_h: i32,
    scroll_y: i32,
    max_scroll_y: i32,
    hidden_ms: i64,
    form_done: bool,
}

impl<'r, 'c, 'p, S: Sink> PageviewRun<'r, 'c, 'p, S> {
    pub(crate) fn new(
        out: &'r mut Out<'p, S>,
        scratch: &'r mut Scratch,
        context: &'r PageviewContext<'c>,
        rank: usize,
        device: Device,
        start_ms: i64,
    ) -> Self {
        let site = context.site;
        site.layout_into(rank, device.viewport_w, &mut scratch.layout);
        Self {
            doc_h: scratch.layout.doc_h,
            out,
            scratch,
            context,
            template: site.template_of(rank),
            rank,
            desktop: device.class == DeviceClass::Desktop,
            start_ms,
            t: start_ms,
            seq: 0,
            viewport_w: device.viewport_w,
            viewport_h: device.viewport_h,
            scroll_y: 0,
            max_scroll_y: 0,
            hidden_ms: 0,
            form_done: false,
        }
    }

    /// A new event `delay_ms` (at least 1 ms) after the previous one.
    fn next_event(&mut self, event_type: EventType, delay_ms: i64) -> GenEvent<'static> {
        if self.seq > 0 {
            self.t += delay_ms.max(1);
        }
        let seq = self.seq;
        self.seq += 1;
        GenEvent::new(event_type, self.t, seq, self.viewport_w, self.viewport_h)
    }

    fn scroll_range(&self) -> i32 {
        (self.doc_h - self.viewport_h).max(0)
    }

    pub(crate) fn run(mut self, rng: &mut SmallRng) -> Result<PageviewEnd, Halt> {
        let mut event = self.next_event(EventType::Pageview, 0);
        event.doc_w = Some(self.viewport_w);
        event.doc_h = Some(self.doc_h);
        self.out.emit(self.context, &event)?;

        let depth = scroll_depth(rng);
        let reach = depth * f64::from(self.scroll_range());
        let stops = if reach < 1.0 {
            1
        } else {
            let per_stop = SCROLL_STOP_VIEWPORTS * f64::from(self.viewport_h);
            1 + ((reach / per_stop).ceil() as u32).clamp(1, SCROLL_STOPS_MAX - 1)
        };
        let resize_at = (self.desktop && chance(rng, RESIZE_RATE_PER_PAGEVIEW))
            .then(|| rng.random_range(0..stops));
        let mut next = Next::Anywhere;
        for stop in 0..stops {
            if stop > 0 {
                let mut fraction = depth * f64::from(stop) / f64::from(stops - 1);
                if stop + 1 < stops {
                    fraction *= rng.random_range(0.9..1.0);
                }
                let target = (fraction * f64::from(self.scroll_range())).round() as i32;
                self.scroll_to(rng, target)?;
                if chance(rng, SCROLL_BACK_RATE) && self.scroll_y > 0 {
                    let back = (f64::from(self.viewport_h) * rng.random_range(0.1..0.4)) as i32;
                    let delay = rng.random_range(300..1_500);
                    self.scroll_event(delay, (self.scroll_y - back).max(0))?;
                }
            }
            next = self.stop(rng)?;
            if next != Next::Anywhere {
                break;
            }
            if resize_at == Some(stop) {
                self.resize(rng)?;
            }
            if self.t - self.start_ms > PAGEVIEW_ACTIVE_MAX_MS {
                break;
            }
        }

        let delay = rng.random_range(50..800);
        let mut event = self.next_event(EventType::Leave, delay);
        event.scroll_y = Some(self.max_scroll_y);
        event.doc_h = Some(self.doc_h);
        event.duration_ms = Some(self.t - self.start_ms - self.hidden_ms);
        self.out.emit(self.context, &event)?;
        Ok(PageviewEnd {
            end_ms: self.t,
            next,
        })
    }

    fn scroll_event(&mut self, delay_ms: i64, scroll_y: i32) -> Result<(), Halt> {
        self.scroll_y = scroll_y;
        self.max_scroll_y = self.max_scroll_y.max(scroll_y);
        let mut event = self.next_event(EventType::Scroll, delay_ms);
        event.scroll_y = Some(scroll_y);
        event.doc_h = Some(self.doc_h);
        self.out.emit(self.context, &event)
    }

    /// Scrolls to `target` in 1 to 4 throttled steps.
    fn scroll_to(&mut self, rng: &mut SmallRng, target: i32) -> Result<(), Halt> {
        let from = self.scroll_y;
        let steps = 1 + ((target - from).abs() / 500).min(3);
        for step in 1..=steps {
            let position = from + (target - from) * step / steps;
            let delay = if step == 1 {
                rng.random_range(100..600)
            } else {
                rng.random_range(60..250)
            };
            self.scroll_event(delay, position)?;
        }
        Ok(())
    }

    /// Marks the boxes visible at the current scroll position.
    fn find_visible(&mut self) {
        let (top, bottom) = (self.scroll_y, self.scroll_y + self.viewport_h);
        self.scratch.visible.clear();
        for (index, b) in self.scratch.layout.boxes.iter().enumerate() {
            if b.fixed || (b.y < bottom && b.y + b.h > top) {
                self.scratch.visible.push(index);
            }
        }
    }

    /// A visible box, weighted by `weight` of its element; `None` when all weights are zero.
    fn pick_visible(
        &self,
        rng: &mut SmallRng,
        weight: impl Fn(ElementKind, f32) -> f32,
    ) -> Option<ElementBox> {
        let elements = &self.template.elements;
        let boxes = &self.scratch.layout.boxes;
        let weight_of = |index: &usize| {
            let element = &elements[boxes[*index].element];
            weight(element.kind, element.click_weight)
        };
        let total: f32 = self.scratch.visible.iter().map(weight_of).sum();
        if total <= 0.0 {
            return None;
        }
        let mut left = rng.random::<f32>() * total;
        for index in &self.scratch.visible {
            left -= weight_of(index);
            if left < 0.0 {
                return Some(boxes[*index]);
            }
        }
        self.scratch.visible.last().map(|index| boxes[*index])
    }

    /// One reading stop: pointer moves, then perhaps a form, a click, or a hidden period.
    fn stop(&mut self, rng: &mut SmallRng) -> Result<Next, Halt> {
        self.find_visible();
        let mean = match self.template.kind {
            PageKind::Article | PageKind::Guide => READ_MEAN_LONG_MS,
            _ => READ_MEAN_MS,
        };
        let read_ms = exponential_ms(rng, mean, 300, 90_000);
        if self.desktop {
            let moves = (read_ms / MOVE_INTERVAL_MS).min(MOVES_PER_STOP_MAX);
            let interval = read_ms / (moves + 1);
            for _ in 0..moves {
                let jitter = rng.random_range(0..=interval / 2);
                self.pointer_move(rng, interval / 2 + jitter)?;
            }
        } else {
            self.t += read_ms;
        }
        let template: &'c Template = self.template;
        if let Some(form) = &template.form {
            let first_field = usize::from(form.fields[0]);
            let field_visible = self
                .scratch
                .visible
                .iter()
                .any(|index| self.scratch.layout.boxes[*index].element == first_field);
            if !self.form_done && field_visible && chance(rng, form.start_rate) {
                self.form_done = true;
                return self.fill_form(rng, form);
            }
        }
        if chance(rng, CLICK_RATE_PER_STOP)
            && let Some(target) = self.pick_visible(rng, |_, weight| weight)
        {
            let next = self.click(rng, target)?;
            if next != Next::Anywhere {
                return Ok(next);
            }
        }
        if chance(rng, VISIBILITY_RATE_PER_STOP) {
            let hidden = log_uniform_ms(rng, 2_000, 600_000);
            self.hidden_ms += hidden;
            let mut event = self.next_event(EventType::Visibility, hidden);
            event.duration_ms = Some(hidden);
            self.out.emit(self.context, &event)?;
        }
        Ok(Next::Anywhere)
    }

    /// A pointer position clustered around a visible element (or anywhere in the viewport).
    fn pointer_move(&mut self, rng: &mut SmallRng, delay_ms: i64) -> Result<(), Halt> {
        let (x, y) = match self.pick_visible(rng, |_, weight| weight + 0.2) {
            Some(b) => {
                let top = if b.fixed { b.y + self.scroll_y } else { b.y };
                let centre_x = f64::from(b.x) + f64::from(b.w) / 2.0;
                let centre_y = f64::from(top) + f64::from(b.h) / 2.0;
                let spread_x = f64::from(b.w) * 0.3 + 16.0;
                let spread_y = f64::from(b.h) * 0.3 + 16.0;
                (
                    (centre_x + normalish(rng) * spread_x) as i32,
                    (centre_y + normalish(rng) * spread_y) as i32,
                )
            }
            None => (
                rng.random_range(self.viewport_w / 5..self.viewport_w * 4 / 5),
                self.scroll_y + rng.random_range(0..self.viewport_h),
            ),
        };
        let mut event = self.next_event(EventType::Move, delay_ms);
        event.x = Some(x.clamp(0, self.viewport_w - 1));
        event.y = Some(y.clamp(self.scroll_y, self.scroll_y + self.viewport_h - 1));
        self.out.emit(self.context, &event)
    }

    /// A point inside the visible part of `b`: x, y (viewport y for fixed boxes) and the position
    /// inside the box in thousandths.
    fn point_in(&self, rng: &mut SmallRng, b: &ElementBox) -> (i32, i32) {
        let (low_y, high_y) = if b.fixed {
            (b.y, b.y + b.h)
        } else {
            (
                b.y.max(self.scroll_y),
                (b.y + b.h).min(self.scroll_y + self.viewport_h),
            )
        };
        let (low_x, high_x) = (b.x.max(0), (b.x + b.w).min(self.viewport_w));
        let centred = |rng: &mut SmallRng| (rng.random::<f64>() + rng.random::<f64>()) / 2.0;
        let x = low_x + (centred(rng) * f64::from((high_x - low_x).max(1))) as i32;
        let y = low_y + (centred(rng) * f64::from((high_y - low_y).max(1))) as i32;
        (x.min(high_x - 1).max(low_x), y.min(high_y - 1).max(low_y))
    }

    /// A click (or a rage burst) on `b`; returns where the session goes next.
    fn click(&mut self, rng: &mut SmallRng, b: ElementBox) -> Result<Next, Halt> {
        let template: &'c Template = self.template;
        let element = &template.elements[b.element];
        let dead = chance(rng, f64::from(element.dead_rate));
        let clicks = if dead && chance(rng, RAGE_SHARE_OF_DEAD) {
            rng.random_range(RAGE_CLICKS.0..=RAGE_CLICKS.1)
        } else {
            1
        };
        let site = self.context.site;
        let has_link = site.write_href(self.rank, element, &mut self.scratch.href);
        let (mut x, mut y) = self.point_in(rng, &b);
        for number in 0..clicks {
            let delay = if number == 0 {
                rng.random_range(150..1_200)
            } else {
                // Rage: quick repeats a few px apart, kept inside the element.
                x = (x + rng.random_range(-6..=6)).clamp(b.x, b.x + b.w - 1);
                y = (y + rng.random_range(-6..=6)).clamp(b.y, b.y + b.h - 1);
                rng.random_range(100..=400)
            };
            let mut event = self.next_event(EventType::Click, delay);
            let href = has_link.then_some(self.scratch.href.as_str());
            fill_click(&mut event, element, &b, x, y, dead, href);
            self.out.emit(self.context, &event)?;
        }
        if dead {
            return Ok(Next::Anywhere);
        }
        if element.selector.ends_with("add-to-cart") {
            self.add_to_cart(rng)?;
        }
        Ok(match &element.link {
            Some(LinkTarget::External(url)) if url.starts_with("mailto:") => Next::Anywhere,
            Some(LinkTarget::External(_)) => Next::Exit,
            Some(target) => Next::Page(site.link_rank(self.rank, target).expect("internal link")),
            None => Next::Anywhere,
        })
    }

    /// The shop's `custom` event after a working add-to-cart click.
    fn add_to_cart(&mut self, rng: &mut SmallRng) -> Result<(), Halt> {
        let price_cents = 500 + mix64(self.rank as u64 ^ 0x5052_4943_4521) % 20_000;
        self.scratch.props.clear();
        let _ = write!(
            self.scratch.props,
            r#"{{"name":"add_to_cart","sku":"p-{}","value_cents":{price_cents}}}"#,
            self.rank
        );
        let delay = rng.random_range(20..120);
        let mut event = self.next_event(EventType::Custom, delay);
        event.props = Some(&self.scratch.props);
        self.out.emit(self.context, &event)
    }

    /// Focus, type into and leave each field, then submit (unless abandoned).
    fn fill_form(&mut self, rng: &mut SmallRng, form: &'c Form) -> Result<Next, Halt> {
        let template: &'c Template = self.template;
        for &field in &form.fields {
            let element = &template.elements[usize::from(field)];
            if let Some(b) = self.box_of(usize::from(field)) {
                let (x, y) = self.point_in(rng, &b);
                let delay = rng.random_range(400..2_000);
                let mut event = self.next_event(EventType::Click, delay);
                fill_click(&mut event, element, &b, x, y, false, None);
                self.out.emit(self.context, &event)?;
            }
            let field_text = Text {
                raw: &element.selector,
                stored: Some(&element.stored_selector),
            };
            let length = i32::from(rng.random_range(element.input_len.0..=element.input_len.1));
            let inputs = ((length + 3) / 4).clamp(1, INPUTS_PER_FIELD_MAX as i32);
            for number in 1..=inputs {
                let typed = length * number / inputs;
                let chars = i64::from(length / inputs).max(1);
                let delay = chars * rng.random_range(120..260);
                let mut event = self.next_event(EventType::Input, delay);
                event.field = Some(field_text);
                event.input_len = Some(typed);
                self.out.emit(self.context, &event)?;
            }
            let delay = rng.random_range(100..600);
            let mut event = self.next_event(EventType::Change, delay);
            event.field = Some(field_text);
            event.input_len = Some(length);
            self.out.emit(self.context, &event)?;
            if chance(rng, FORM_ABANDON_RATE_PER_FIELD) {
                return Ok(Next::Anywhere);
            }
        }
        let submit = usize::from(form.submit);
        if let Some(b) = self.box_of(submit) {
            let element = &template.elements[submit];
            let (x, y) = self.point_in(rng, &b);
            let delay = rng.random_range(500..3_000);
            let mut event = self.next_event(EventType::Click, delay);
            fill_click(&mut event, element, &b, x, y, false, None);
            self.out.emit(self.context, &event)?;
        }
        let delay = rng.random_range(10..80);
        let mut event = self.next_event(EventType::Submit, delay);
        event.target = Some(Text {
            raw: &form.selector,
            stored: Some(&form.stored_selector),
        });
        self.out.emit(self.context, &event)?;
        Ok(Next::Page(form.next_page.map_or(self.rank, |rank| {
            (rank as usize).min(self.context.site.pages().len() - 1)
        })))
    }

    fn box_of(&self, element: usize) -> Option<ElementBox> {
        self.scratch
            .layout
            .boxes
            .iter()
            .find(|b| b.element == element)
            .copied()
    }

    /// A desktop window resize: snapped to half the screen, or dragged narrower.
    fn resize(&mut self, rng: &mut SmallRng) -> Result<(), Halt> {
        let width = if chance(rng, 0.5) {
            self.viewport_w / 2
        } else {
            (f64::from(self.viewport_w) * rng.random_range(0.6..0.95)) as i32 & !1
        };
        self.viewport_w = width.max(320);
        self.viewport_h -= rng.random_range(0..200).min(self.viewport_h / 2);
        self.context
            .site
            .layout_into(self.rank, self.viewport_w, &mut self.scratch.layout);
        self.doc_h = self.scratch.layout.doc_h;
        self.scroll_y = self.scroll_y.min(self.scroll_range());
        let delay = rng.random_range(200..2_000);
        let mut event = self.next_event(EventType::Resize, delay);
        event.doc_w = Some(self.viewport_w);
        event.doc_h = Some(self.doc_h);
        self.out.emit(self.context, &event)
    }
}

/// How far down a page view scrolls, as a fraction of the scrollable range.
fn scroll_depth(rng: &mut SmallRng) -> f64 {
    let u: f64 = rng.random();
    if u < SCROLL_NONE_SHARE {
        0.0
    } else if u < SCROLL_NONE_SHARE + SCROLL_BOTTOM_SHARE {
        1.0
    } else {
        rng.random::<f64>().powf(SCROLL_DEPTH_EXPONENT)
    }
}

/// Sets the fields of a click on `element` at (`x`, `y`) in box `b`.
fn fill_click<'e>(
    event: &mut GenEvent<'e>,
    element: &'e Element,
    b: &ElementBox,
    x: i32,
    y: i32,
    dead: bool,
    href: Option<&'e str>,
) {
    event.x = Some(x);
    event.y = Some(y);
    event.target = Some(Text {
        raw: &element.selector,
        stored: Some(&element.stored_selector),
    });
    event.target_rx_milli = Some(((x - b.x) * 1000 / b.w).clamp(0, 1000) as u16);
    event.target_ry_milli = Some(((y - b.y) * 1000 / b.h).clamp(0, 1000) as u16);
    event.target_fixed = b.fixed;
    event.button = Some(0);
    event.dead = dead;
    event.text = element.text.as_deref();
    event.link = href.map(|raw| Text {
        raw,
        stored: element.stored_external_link.as_deref(),
    });
}
