//! Devices: the viewport mix and the browsers' user agents.
//!
//! Shares are of visitors; a visitor keeps one device for all their sessions. Viewport heights are
//! the screen height less the browser's own bars.

use rand::Rng;
use rand::rngs::SmallRng;

use crate::rng::Cdf;
use DeviceClass::{Desktop, Mobile, Tablet};

/// A device class; [`DEVICE_CLASS_SHARES`] gives each one's share of visitors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceClass {
    /// Desktop and laptop browsers: 55 % of visitors.
    Desktop,
    /// Tablets: 10 % of visitors.
    Tablet,
    /// Phones: 35 % of visitors.
    Mobile,
}

/// Shares of visitors per device class (desktop, tablet, mobile).
pub const DEVICE_CLASS_SHARES: [(DeviceClass, f64); 3] =
    [(Desktop, 0.55), (Tablet, 0.10), (Mobile, 0.35)];

/// Whose browsers run on a device: pairs a phone's screen with a matching user agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    /// Any desktop operating system.
    Desktop,
    /// iPhone or iPad.
    Apple,
    /// Android phone or tablet.
    Android,
}

/// One screen size and the viewport a browser shows on it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    /// Device class.
    pub class: DeviceClass,
    /// Platform, which decides the user agents it is paired with.
    pub platform: Platform,
    /// Screen width in CSS px (also the viewport width).
    pub screen_w: i32,
    /// Screen height in CSS px.
    pub screen_h: i32,
    /// Viewport height in CSS px (screen height less browser bars).
    pub viewport_h: i32,
    /// Share within its device class.
    pub share: f64,
}

const fn viewport(
    class: DeviceClass,
    platform: Platform,
    w: i32,
    h: i32,
    vh: i32,
    share: f64,
) -> Viewport {
    Viewport {
        class,
        platform,
        screen_w: w,
        screen_h: h,
        viewport_h: vh,
        share,
    }
}

/// The viewport mix, per device class.
pub const VIEWPORTS: [Viewport; 20] = [
    viewport(Desktop, Platform::Desktop, 1920, 1080, 953, 0.34),
    viewport(Desktop, Platform::Desktop, 1536, 864, 737, 0.18),
    viewport(Desktop, Platform::Desktop, 1440, 900, 789, 0.12),
    viewport(Desktop, Platform::Desktop, 1366, 768, 641, 0.12),
    viewport(Desktop, Platform::Desktop, 2560, 1440, 1313, 0.08),
    viewport(Desktop, Platform::Desktop, 1280, 720, 593, 0.06),
    viewport(Desktop, Platform::Desktop, 1680, 1050, 939, 0.05),
    viewport(Desktop, Platform::Desktop, 1600, 900, 773, 0.05),
    viewport(Tablet, Platform::Apple, 768, 1024, 954, 0.30),
    viewport(Tablet, Platform::Apple, 820, 1180, 1106, 0.25),
    viewport(Tablet, Platform::Apple, 810, 1080, 1010, 0.20),
    viewport(Tablet, Platform::Android, 800, 1280, 1207, 0.15),
    viewport(Tablet, Platform::Apple, 834, 1194, 1120, 0.10),
    viewport(Mobile, Platform::Apple, 390, 844, 664, 0.22),
    viewport(Mobile, Platform::Android, 393, 873, 786, 0.12),
    viewport(Mobile, Platform::Android, 412, 915, 839, 0.18),
    viewport(Mobile, Platform::Android, 360, 800, 724, 0.16),
    viewport(Mobile, Platform::Apple, 375, 667, 548, 0.08),
    viewport(Mobile, Platform::Apple, 430, 932, 746, 0.12),
    viewport(Mobile, Platform::Apple, 414, 896, 715, 0.12),
];

/// A real browser's user agent string and its share among the visitors of its platform and class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UserAgent {
    /// Device class it is used with.
    pub class: DeviceClass,
    /// Platform it runs on.
    pub platform: Platform,
    /// The `User-Agent` header.
    pub ua: &'static str,
    /// Share within its class and platform.
    pub share: f64,
}

const fn agent(class: DeviceClass, platform: Platform, ua: &'static str, share: f64) -> UserAgent {
    UserAgent {
        class,
        platform,
        ua,
        share,
    }
}

/// The user agents, per class and platform.
pub const USER_AGENTS: [UserAgent; 18] = [
    agent(
        Desktop,
        Platform::Desktop,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        0.45,
    ),
    agent(
        Desktop,
        Platform::Desktop,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        0.12,
    ),
    agent(
        Desktop,
        Platform::Desktop,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
        0.08,
    ),
    agent(
        Desktop,
        Platform::Desktop,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        0.12,
    ),
    agent(
        Desktop,
        Platform::Desktop,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
        0.12,
    ),
    agent(
        Desktop,
        Platform::Desktop,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
        0.03,
    ),
    agent(
        Desktop,
        Platform::Desktop,
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        0.05,
    ),
    agent(
        Desktop,
        Platform::Desktop,
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        0.03,
    ),
    // Since iPadOS 13, Safari on an iPad sends the desktop Mac user agent by default.
    agent(
        Tablet,
        Platform::Apple,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
        0.9,
    ),
    agent(
        Tablet,
        Platform::Apple,
        "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
        0.1,
    ),
    agent(
        Tablet,
        Platform::Android,
        "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        0.75,
    ),
    agent(
        Tablet,
        Platform::Android,
        "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Safari/537.36",
        0.25,
    ),
    agent(
        Mobile,
        Platform::Apple,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        0.88,
    ),
    agent(
        Mobile,
        Platform::Apple,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
        0.12,
    ),
    agent(
        Mobile,
        Platform::Android,
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
        0.72,
    ),
    agent(
        Mobile,
        Platform::Android,
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
        0.2,
    ),
    agent(
        Mobile,
        Platform::Android,
        "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
        0.05,
    ),
    agent(
        Mobile,
        Platform::Android,
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.0.0",
        0.03,
    ),
];

/// Share of visitors whose events carry their (documentation-range) IP address.
pub const IP_SHARE: f64 = 0.1;

/// Precomputed pickers over [`VIEWPORTS`] and [`USER_AGENTS`].
#[derive(Debug, Clone)]
pub(crate) struct DevicePicker {
    viewports: Cdf,
    agents_by_platform: Vec<((DeviceClass, Platform), Vec<&'static UserAgent>, Cdf)>,
}

/// The device of one visitor.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Device {
    pub(crate) class: DeviceClass,
    pub(crate) viewport_w: i32,
    pub(crate) viewport_h: i32,
    pub(crate) ua: &'static str,
}

impl DevicePicker {
    pub(crate) fn new() -> Self {
        let class_share = |class: DeviceClass| {
            DEVICE_CLASS_SHARES
                .iter()
                .find(|(c, _)| *c == class)
                .map_or(0.0, |(_, share)| *share)
        };
        let viewports = Cdf::new(VIEWPORTS.iter().map(|v| class_share(v.class) * v.share));
        let mut agents_by_platform: Vec<((DeviceClass, Platform), Vec<&'static UserAgent>, Cdf)> =
            Vec::new();
        for v in &VIEWPORTS {
            let key = (v.class, v.platform);
            if agents_by_platform.iter().any(|(k, _, _)| *k == key) {
                continue;
            }
            let agents: Vec<&'static UserAgent> = USER_AGENTS
                .iter()
                .filter(|a| (a.class, a.platform) == key)
                .collect();
            let cdf = Cdf::new(agents.iter().map(|a| a.share));
            agents_by_platform.push((key, agents, cdf));
        }
        Self {
            viewports,
            agents_by_platform,
        }
    }

    pub(crate) fn pick(&self, rng: &mut SmallRng) -> Device {
        let viewport = &VIEWPORTS[self.viewports.pick(rng)];
        let key = (viewport.class, viewport.platform);
        let (_, agents, cdf) = self
            .agents_by_platform
            .iter()
            .find(|(k, _, _)| *k == key)
            .expect("every viewport's platform has user agents");
        Device {
            class: viewport.class,
            viewport_w: viewport.screen_w,
            viewport_h: viewport.viewport_h,
            ua: agents[cdf.pick(rng)].ua,
        }
    }
}

/// A documentation-range address (RFC 5737 / RFC 3849), so no real person's IP is ever generated.
pub(crate) fn documentation_ip(rng: &mut SmallRng, out: &mut String) {
    use std::fmt::Write;
    out.clear();
    let r: u32 = rng.random();
    let host = (r & 0xff).max(1);
    // Results of `write!` into a String cannot fail.
    let _ = match (r >> 8) % 8 {
        0 => write!(
            out,
            "2001:db8:{:x}:{:x}::{:x}",
            (r >> 12) & 0xffff,
            (r >> 4) & 0xff,
            host
        ),
        1 | 2 => write!(out, "192.0.2.{host}"),
        3..=5 => write!(out, "198.51.100.{host}"),
        _ => write!(out, "203.0.113.{host}"),
    };
}
