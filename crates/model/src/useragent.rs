//! Coarse browser, operating system and device classes, instead of raw user-agent strings.
//!
//! A full user-agent string, with its exact versions and device model, is one of the strongest
//! inputs to browser fingerprinting, and heatmap questions only need "Chrome on Android, mobile".
//! So the collector keeps a handful of families and discards the string. The matching is a few
//! substring tests on well-known tokens, in an order that follows how browsers imitate each other
//! (Edge and Opera say `Chrome/`, Chrome says `Safari/`, every iPhone browser says `Safari/`).

/// Viewports narrower than this many CSS px are phones (below the iPad's 768 px portrait width).
pub const TABLET_VIEWPORT_MIN_PX: i32 = 768;
/// Viewports at least this many CSS px wide are desktops (the iPad's landscape width and up).
pub const DESKTOP_VIEWPORT_MIN_PX: i32 = 1024;

/// Tokens of automated clients, matched case-insensitively anywhere in the user agent.
const BOT_TOKENS: [&str; 4] = ["bot", "crawler", "spider", "headlesschrome"];

/// Browser tokens, first match wins. `Chrome` must follow every Chromium-based browser that also
/// sends `Chrome/`, and `Safari` must come last: nearly every browser sends `Safari/`.
const BROWSER_TOKENS: [(&str, &str); 12] = [
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("Edge/", "Edge"),
    ("OPR/", "Opera"),
    ("Opera", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("CriOS/", "Chrome"),
    ("Safari/", "Safari"),
];

/// Operating system tokens, first match wins. iOS devices say `like Mac OS X`, Android and ChromeOS
/// devices say `Linux`, so those come first.
const OS_TOKENS: [(&str, &str); 8] = [
    ("iPhone", "iOS"),
    ("iPad", "iOS"),
    ("iPod", "iOS"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
];

/// The browser family and operating system family a user agent names, each `None` when unknown.
///
/// Browsers: `Bot` (any user agent containing `bot`, `crawler`, `spider` or `HeadlessChrome`, in
/// any case), `Edge`, `Opera`, `Samsung Internet`, `Firefox`, `Chrome`, `Safari`. Operating
/// systems: `iOS` (iPhone, iPad, iPod), `Android`, `ChromeOS`, `Windows`, `macOS`, `Linux`. Since
/// iPadOS 13, Safari on an iPad sends the user agent of a Mac by default, so it reports `macOS`.
///
/// ```
/// use heatlake_model::useragent::browser_and_os;
///
/// let ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 \
///           (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
/// assert_eq!(browser_and_os(ua), (Some("Safari"), Some("iOS")));
/// ```
pub fn browser_and_os(user_agent: &str) -> (Option<&'static str>, Option<&'static str>) {
    let is_bot = BOT_TOKENS
        .iter()
        .any(|token| contains_ignore_ascii_case(user_agent, token));
    let browser = if is_bot {
        Some("Bot")
    } else {
        first_match(user_agent, &BROWSER_TOKENS)
    };
    (browser, first_match(user_agent, &OS_TOKENS))
}

fn first_match(user_agent: &str, tokens: &[(&str, &'static str)]) -> Option<&'static str> {
    tokens
        .iter()
        .find(|(token, _)| user_agent.contains(token))
        .map(|&(_, family)| family)
}

fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
}

/// The device class of a viewport `viewport_w` CSS px wide: `"mobile"` below
/// [`TABLET_VIEWPORT_MIN_PX`] (768), `"tablet"` below [`DESKTOP_VIEWPORT_MIN_PX`] (1024), else
/// `"desktop"`. These are the common CSS breakpoints, at the iPad's portrait and landscape widths.
/// The viewport says what layout the visitor saw, which is what a heatmap is about, better than a
/// user agent does. Widths of zero or less (never valid) count as `"mobile"`.
pub fn device_class(viewport_w: i32) -> &'static str {
    if viewport_w < TABLET_VIEWPORT_MIN_PX {
        "mobile"
    } else if viewport_w < DESKTOP_VIEWPORT_MIN_PX {
        "tablet"
    } else {
        "desktop"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(user_agent: &str, browser: Option<&str>, os: Option<&str>) {
        assert_eq!(browser_and_os(user_agent), (browser, os), "{user_agent}");
    }

    #[test]
    fn chrome() {
        check(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            Some("Chrome"),
            Some("Windows"),
        );
        check(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            Some("Chrome"),
            Some("macOS"),
        );
        check(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            Some("Chrome"),
            Some("Linux"),
        );
        check(
            "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            Some("Chrome"),
            Some("ChromeOS"),
        );
        check(
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
            Some("Chrome"),
            Some("Android"),
        );
        check(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
            Some("Chrome"),
            Some("iOS"),
        );
    }

    #[test]
    fn firefox() {
        check(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
            Some("Firefox"),
            Some("Windows"),
        );
        check(
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            Some("Firefox"),
            Some("Linux"),
        );
        check(
            "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
            Some("Firefox"),
            Some("Android"),
        );
        check(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15",
            Some("Firefox"),
            Some("iOS"),
        );
    }

    #[test]
    fn safari() {
        check(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
            Some("Safari"),
            Some("iOS"),
        );
        check(
            "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1",
            Some("Safari"),
            Some("iOS"),
        );
        check(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
            Some("Safari"),
            Some("macOS"),
        );
    }

    #[test]
    fn edge_opera_and_samsung_are_not_chrome() {
        check(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            Some("Edge"),
            Some("Windows"),
        );
        check(
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.0.0",
            Some("Edge"),
            Some("Android"),
        );
        check(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) EdgiOS/131.2903.68 Version/17.0 Mobile/15E148 Safari/604.1",
            Some("Edge"),
            Some("iOS"),
        );
        check(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0",
            Some("Opera"),
            Some("Windows"),
        );
        check(
            "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S928B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36",
            Some("Samsung Internet"),
            Some("Android"),
        );
    }

    #[test]
    fn bots() {
        check(
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            Some("Bot"),
            None,
        );
        check(
            "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            Some("Bot"),
            Some("Android"),
        );
        check(
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
            Some("Bot"),
            None,
        );
        check(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
            Some("Bot"),
            Some("Linux"),
        );
        check("Screaming Frog SEO Spider/21.0", Some("Bot"), None);
        check("Some-Crawler/1.0", Some("Bot"), None);
    }

    #[test]
    fn unknown_user_agents() {
        check("", None, None);
        check("curl/8.5.0", None, None);
        check("Mozilla/5.0 (X11; FreeBSD amd64)", None, None);
        check("ünïcödé 日本", None, None);
    }

    #[test]
    fn device_classes_follow_the_viewport_width() {
        let cases = [
            (i32::MIN, "mobile"),
            (0, "mobile"),
            (390, "mobile"),
            (767, "mobile"),
            (768, "tablet"),
            (1023, "tablet"),
            (1024, "desktop"),
            (1920, "desktop"),
            (i32::MAX, "desktop"),
        ];
        for (width, class) in cases {
            assert_eq!(device_class(width), class, "{width}");
        }
    }
}
