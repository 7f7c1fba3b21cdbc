// Heatlake's browser tracker. One tag installs it:
//
//   <script async src="https://COLLECTOR/t.js" data-site="SITE" data-key="WRITE_KEY"></script>
//
// It sends wire-format v1 events (docs/wire-format.md) to the collector the script was loaded
// from. What it never does: read a typed value (only lengths, and not even those for password,
// e-mail, tel and card fields), run for a visitor who opted out, sent Do Not Track or Global
// Privacy Control (unless the site says data-respect-dnt="false"), or keep an unbounded queue.
// docs/tracker.md describes every event and bound.

(function () {
  "use strict";

  // Bounds and timings, named once.
  var QUEUE_EVENTS_MAX = 1000; // events waiting to be sent; beyond it new moves, then all, are dropped
  var BATCH_EVENTS_MAX = 200; // events in one request
  var BATCH_BYTES_MAX = 48000; // body bytes of one request (keepalive requests share 64 KiB)
  var FLUSH_INTERVAL_MS = 5000; // how often queued events are sent
  var RETRY_ATTEMPTS_MAX = 5; // attempts per batch before it is dropped
  var RETRY_BASE_MS = 1000; // first retry delay; doubles per attempt
  var MOVE_INTERVAL_MS = 50; // at most 20 move samples per second
  var MOVES_PER_PAGEVIEW_MAX = 3000; // a page left open for hours does not send moves for ever
  var SCROLL_INTERVAL_MS = 250; // scroll events at most 4 per second
  var RESIZE_DELAY_MS = 500; // a resize is sent once the window stops changing
  var INPUT_DELAY_MS = 500; // typing in one field is sent once per pause
  var DEAD_CLICK_MS = 700; // a click with no DOM change, scroll or navigation within this is dead
  var IDLE_MS = 30000; // engaged time stops counting after this long without activity
  var SESSION_IDLE_S = 1800; // a session ends after 30 minutes without events
  var VISITOR_COOKIE_S = 31536000; // the visitor cookie lives a year
  var OPTOUT_COOKIE_S = 63072000; // the opt-out cookie lives two years, as the collector's
  var SELECTOR_DEPTH_MAX = 12; // elements in a selector path (the nearest ones are kept)
  var TARGET_BYTES_MAX = 512; // wire-format bound of `target` and (256) `field`

  var win = window;
  var doc = document;
  var nav = navigator;
  var loc = location;
  var script = doc.currentScript;
  if (!script || win.heatlake) return;

  var site = script.getAttribute("data-site");
  var key = script.getAttribute("data-key") || "";
  var respectDnt = script.getAttribute("data-respect-dnt") !== "false";
  // The collector is wherever this script came from: https://c.example/t.js -> https://c.example/
  var base = new URL(".", script.src).href;
  var encodedKey = encodeURIComponent(key);

  function now() {
    return Date.now();
  }

  function readCookie(name) {
    var match = doc.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? match[1] : null;
  }

  function writeCookie(name, value, maxAgeS) {
    doc.cookie =
      name + "=" + value + "; Max-Age=" + maxAgeS + "; Path=/; SameSite=Lax" +
      (loc.protocol == "https:" ? "; Secure" : "");
  }

  function randomId(bytes) {
    var values = crypto.getRandomValues(new Uint8Array(bytes));
    var hex = "";
    for (var i = 0; i < values.length; i++) hex += (values[i] + 256).toString(16).slice(1);
    return hex;
  }

  function optedOut() {
    return (
      readCookie("heatlake_optout") == "1" ||
      (respectDnt &&
        (nav.doNotTrack == "1" || win.doNotTrack == "1" || nav.globalPrivacyControl === true))
    );
  }

  var stopped = !site || optedOut();
  var api = {
    // Stops tracking, remembers the choice in a first-party cookie and tells the collector,
    // which sets its own opt-out cookie.
    optOut: function () {
      stopped = true;
      queue.length = 0;
      writeCookie("heatlake_optout", "1", OPTOUT_COOKIE_S);
      writeCookie("_hl_id", "", 0);
      writeCookie("_hl_s", "", 0);
      return fetch(base + "v1/optout?site=" + encodeURIComponent(site || ""), {
        method: "POST",
        mode: "no-cors",
        credentials: "include",
        keepalive: true,
      }).catch(function () {});
    },
    // Sends a `custom` event; `props` is a flat JSON object (scrubbed by the collector).
    event: function (name, props) {
      var merged = { name: String(name) };
      for (var k in props || {}) merged[k] = props[k];
      emit("custom", { props: merged });
    },
    optedOut: function () {
      return stopped;
    },
  };
  win.heatlake = api;
  var queue = [];
  if (stopped) return;

  // ---- ids -------------------------------------------------------------------------------------
  var visitorId = readCookie("_hl_id") || randomId(16);
  writeCookie("_hl_id", visitorId, VISITOR_COOKIE_S);
  var sessionId = readCookie("_hl_s") || randomId(8);
  var sessionWrittenAt = 0;
  var pageviewId;
  var seq;

  function touchSession() {
    var t = now();
    if (t - sessionWrittenAt > 10000) {
      // The cookie's Max-Age is the inactivity timeout: it lapses 30 minutes after the last event.
      // Another tab may have started the session, or it may have lapsed.
      var current = readCookie("_hl_s");
      if (current) sessionId = current;
      else if (sessionWrittenAt) sessionId = randomId(8);
      writeCookie("_hl_s", sessionId, SESSION_IDLE_S);
      sessionWrittenAt = t;
    }
  }

  // ---- geometry --------------------------------------------------------------------------------
  function px(value) {
    return Math.max(0, Math.round(value));
  }

  function docSize() {
    var root = doc.documentElement;
    var body = doc.body || root;
    return {
      doc_w: Math.max(1, root.scrollWidth, body.scrollWidth),
      doc_h: Math.max(1, root.scrollHeight, body.scrollHeight),
    };
  }

  function scrollY() {
    return px(win.scrollY);
  }

  var SIMPLE_NAME = /^-?[A-Za-z_][\w-]*$/;

  // The CSS selector path of an element: `tag#id` stops the walk; otherwise `tag`, up to two
  // classes and `:nth-of-type(n)` when same-tag siblings exist, joined by ` > ` below <body>.
  // crates/model/src/rrweb/selector.rs builds the same path from an rrweb snapshot.
  function selector(el, bytesMax) {
    var parts = [];
    while (el && el.nodeType == 1 && parts.length < SELECTOR_DEPTH_MAX) {
      var tag = el.localName;
      if (tag == "body" || tag == "html") {
        if (!parts.length) parts.push(tag);
        break;
      }
      var id = el.getAttribute("id");
      if (id && SIMPLE_NAME.test(id)) {
        parts.unshift(tag + "#" + id);
        break;
      }
      var part = tag;
      var classes = (el.getAttribute("class") || "").split(/\s+/);
      for (var i = 0, n = 0; i < classes.length && n < 2; i++) {
        if (SIMPLE_NAME.test(classes[i])) {
          part += "." + classes[i];
          n++;
        }
      }
      var parent = el.parentElement;
      if (parent) {
        var index = 0;
        var count = 0;
        for (var c = parent.firstElementChild; c; c = c.nextElementSibling) {
          if (c.localName == tag) {
            count++;
            if (c == el) index = count;
          }
        }
        if (count > 1) part += ":nth-of-type(" + index + ")";
      }
      parts.unshift(part);
      el = parent;
    }
    var path = parts.join(" > ");
    while (path.length > bytesMax && parts.length > 1) {
      parts.shift();
      path = parts.join(" > ");
    }
    return path.slice(0, bytesMax);
  }

  function elementOf(node) {
    return node && node.nodeType == 1 ? node : node && node.parentElement;
  }

  function fixedAncestor(el) {
    for (; el && el.nodeType == 1; el = el.parentElement) {
      var position = getComputedStyle(el).position;
      if (position == "fixed" || position == "sticky") return true;
    }
    return false;
  }

  // ---- page view state -------------------------------------------------------------------------
  var pageUrl;
  var maxScrollY;
  var lastViewportH;
  var lastDocH;
  var movesSent;
  var engagedMs;
  var lastActiveAt; // null while hidden
  var visibleSince;
  var pendingClicks = [];
  var leaveSeq; // `seq` right after the last leave

  // A new event of this page view; `seq` numbers events in the order they happened.
  function makeEvent(type, fields) {
    var event = {
      v: 1,
      site: site,
      type: type,
      ts: now(),
      visitor_id: visitorId,
      session_id: sessionId,
      pageview_id: pageviewId,
      seq: seq++,
      path: loc.hostname.toLowerCase() + loc.pathname,
    };
    for (var k in fields) if (fields[k] !== undefined) event[k] = fields[k];
    return event;
  }

  // Queues an event, within the queue's bound: moves give way first.
  function enqueue(event) {
    if (stopped) return;
    var full = queue.length >= QUEUE_EVENTS_MAX;
    if (full && (event.type == "move" || queue.length >= QUEUE_EVENTS_MAX + 100)) return;
    queue.push(event);
    touchSession();
    if (queue.length >= BATCH_EVENTS_MAX) flush(false);
  }

  function emit(type, fields) {
    if (!stopped) enqueue(makeEvent(type, fields));
  }

  function activity() {
    var t = now();
    if (lastActiveAt != null) engagedMs += Math.min(t - lastActiveAt, IDLE_MS);
    if (doc.visibilityState != "hidden") lastActiveAt = t;
  }

  function noteScroll() {
    var y = scrollY();
    var size = docSize();
    lastViewportH = win.innerHeight;
    lastDocH = size.doc_h;
    if (y > maxScrollY) maxScrollY = y;
    return size;
  }

  function startPageview(referrer) {
    pageviewId = randomId(8);
    seq = 0;
    leaveSeq = -1;
    pageUrl = loc.href;
    maxScrollY = 0;
    movesSent = 0;
    engagedMs = 0;
    lastActiveAt = doc.visibilityState == "hidden" ? null : now();
    visibleSince = now();
    var size = noteScroll();
    emit("pageview", {
      url: pageUrl,
      referrer: referrer || undefined,
      title: doc.title.slice(0, 512) || undefined,
      viewport_w: win.innerWidth,
      viewport_h: win.innerHeight,
      doc_w: size.doc_w,
      doc_h: size.doc_h,
    });
  }

  // Ends the page view's summary; not repeated when nothing happened since the last one (page
  // hide and visibility change both fire when a tab closes).
  function sendLeave() {
    settleClicks();
    if (seq === leaveSeq) return;
    activity();
    noteScroll();
    emit("leave", {
      scroll_y: maxScrollY,
      viewport_h: lastViewportH,
      doc_h: lastDocH,
      duration_ms: engagedMs,
    });
    leaveSeq = seq;
  }

  // ---- clicks ----------------------------------------------------------------------------------
  // A click waits DEAD_CLICK_MS to learn whether anything followed it; navigation settles it.
  function noteChange() {
    for (var i = 0; i < pendingClicks.length; i++) pendingClicks[i].changed = true;
  }
  var observer = win.MutationObserver && new MutationObserver(noteChange);

  function settleClick(pending, dead) {
    pendingClicks.splice(pendingClicks.indexOf(pending), 1);
    if (!pendingClicks.length && observer) observer.disconnect();
    pending.event.dead = dead && !pending.changed;
    enqueue(pending.event);
  }

  function settleClicks() {
    while (pendingClicks.length) settleClick(pendingClicks[0], false);
  }

  function onClick(e) {
    var el = elementOf(e.target);
    if (!el || stopped) return;
    activity();
    var rect = el.getBoundingClientRect();
    var keyboard = e.detail === 0 && e.clientX === 0 && e.clientY === 0;
    var clientX = keyboard ? rect.left + rect.width / 2 : e.clientX;
    var clientY = keyboard ? rect.top + rect.height / 2 : e.clientY;
    var fixed = fixedAncestor(el);
    var link = el.closest("a[href]");
    var fields = {
      x: px(clientX + win.scrollX),
      y: px(fixed ? clientY : clientY + win.scrollY),
      target: selector(el, TARGET_BYTES_MAX),
      target_rx: rect.width ? Math.round(Math.min(1, Math.max(0, (clientX - rect.left) / rect.width)) * 1000) / 1000 : undefined,
      target_ry: rect.height ? Math.round(Math.min(1, Math.max(0, (clientY - rect.top) / rect.height)) * 1000) / 1000 : undefined,
      target_fixed: fixed || undefined,
      button: keyboard ? undefined : e.button,
      link: link ? link.href.slice(0, 2048) : undefined,
      viewport_w: win.innerWidth,
    };
    // Numbered now so `seq` keeps the order of events, queued once its dead flag is known.
    var click = makeEvent("click", fields);
    // Focusing a form field is a visible change of its own: such clicks are never dead.
    var pending = {
      event: click,
      changed: !!el.closest("input,select,textarea,label,button[type=submit],[contenteditable]"),
    };
    if (!pendingClicks.length && observer)
      observer.observe(doc, { subtree: true, childList: true, attributes: true, characterData: true });
    pendingClicks.push(pending);
    setTimeout(function () {
      if (pendingClicks.indexOf(pending) >= 0) settleClick(pending, true);
    }, DEAD_CLICK_MS);
  }

  // ---- moves, scrolls, resizes -----------------------------------------------------------------
  var lastMoveAt = 0;
  function onMove(e) {
    var t = now();
    if (t - lastMoveAt < MOVE_INTERVAL_MS) return;
    lastMoveAt = t;
    activity();
    if (movesSent >= MOVES_PER_PAGEVIEW_MAX) return;
    movesSent++;
    emit("move", { x: px(e.pageX), y: px(e.pageY), viewport_w: win.innerWidth });
  }

  var scrollTimer = 0;
  var lastScrollAt = 0;
  function sendScroll() {
    scrollTimer = 0;
    lastScrollAt = now();
    var size = noteScroll();
    emit("scroll", {
      scroll_x: px(win.scrollX),
      scroll_y: scrollY(),
      viewport_h: win.innerHeight,
      doc_h: size.doc_h,
    });
  }
  function onScroll() {
    noteChange();
    activity();
    noteScroll(); // the maximum is kept on every event, whatever the throttle sends
    if (!scrollTimer)
      scrollTimer = setTimeout(sendScroll, Math.max(0, lastScrollAt + SCROLL_INTERVAL_MS - now()));
  }

  var resizeTimer = 0;
  function onResize() {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      var size = docSize();
      emit("resize", {
        viewport_w: win.innerWidth,
        viewport_h: win.innerHeight,
        doc_w: size.doc_w,
        doc_h: size.doc_h,
      });
    }, RESIZE_DELAY_MS);
  }

  // ---- typing: the field and a length, never the value -----------------------------------------
  var SENSITIVE_TYPES = /^(password|email|tel)$/;
  var SENSITIVE_NAMES = /card|cc-|ccnum|cvc|cvv|csc|iban|expir|security.?code|passw|e-?mail|phone|tel/i;

  // Password, e-mail, tel and card fields report only that they changed, never a length.
  function sensitive(el) {
    var names =
      (el.getAttribute("autocomplete") || "") + " " + (el.name || "") + " " + (el.id || "") +
      " " + (el.getAttribute("inputmode") || "");
    return SENSITIVE_TYPES.test(el.type || "") || SENSITIVE_NAMES.test(names);
  }

  function fieldLength(el) {
    if (el.isContentEditable) return (el.textContent || "").length;
    if (el.type == "checkbox" || el.type == "radio" || el.localName == "select") return undefined;
    return typeof el.value == "string" ? el.value.length : undefined;
  }

  var pendingInput = null;
  var inputTimer = 0;
  function sendInput() {
    clearTimeout(inputTimer);
    var el = pendingInput;
    pendingInput = null;
    if (el) emit("input", { field: selector(el, 256), input_len: fieldLength(el) });
  }

  function onInput(e) {
    var el = elementOf(e.target);
    if (!el) return;
    activity();
    noteChange();
    if (sensitive(el)) return;
    if (pendingInput && pendingInput != el) sendInput();
    pendingInput = el;
    clearTimeout(inputTimer);
    inputTimer = setTimeout(sendInput, INPUT_DELAY_MS);
  }

  function onChange(e) {
    var el = elementOf(e.target);
    if (!el) return;
    if (pendingInput == el) sendInput();
    emit("change", {
      field: selector(el, 256),
      input_len: sensitive(el) ? undefined : fieldLength(el),
    });
  }

  function onSubmit(e) {
    var el = elementOf(e.target);
    if (el) emit("submit", { target: selector(el, TARGET_BYTES_MAX) });
  }

  // ---- delivery ----------------------------------------------------------------------------------
  // Takes up to one batch of events off the queue as an NDJSON body.
  function takeBatch() {
    var lines = [];
    var bytes = 0;
    while (queue.length && lines.length < BATCH_EVENTS_MAX) {
      var line = JSON.stringify(queue[0]);
      if (lines.length && bytes + line.length + 1 > BATCH_BYTES_MAX) break;
      queue.shift();
      if (line.length + 1 > BATCH_BYTES_MAX) continue; // one event too large for any batch
      lines.push(line);
      bytes += line.length + 1;
    }
    return lines.length ? lines.join("\n") + "\n" : null;
  }

  function batchUrl(batchId) {
    return base + "v1/events?key=" + encodedKey + "&batch=" + batchId;
  }

  // Sends one batch; retries (same batch id, so the collector stores it once) with backoff on
  // network errors, 429 and 5xx; drops it on other 4xx, which no retry would fix.
  function send(body, batchId, attempt) {
    fetch(batchUrl(batchId), {
      method: "POST",
      body: body,
      keepalive: true,
      // The collector's own opt-out cookie travels with the events (it answers CORS with
      // credentials for the site's allowed origins).
      credentials: "include",
      headers: { "Content-Type": "text/plain" },
    }).then(
      function (response) {
        var status = response.status;
        if (status == 429 || status >= 500) {
          var after = parseFloat(response.headers.get("Retry-After") || "") * 1000;
          retry(body, batchId, attempt, after);
        }
      },
      function () {
        retry(body, batchId, attempt, 0);
      }
    );
  }

  function retry(body, batchId, attempt, afterMs) {
    if (attempt + 1 >= RETRY_ATTEMPTS_MAX) return;
    var delay = Math.max(afterMs || 0, RETRY_BASE_MS * Math.pow(2, attempt));
    setTimeout(function () {
      send(body, batchId, attempt + 1);
    }, Math.min(delay, 60000));
  }

  // On page hide, `sendBeacon` is the delivery the browser promises to finish; fetch keepalive is
  // the fallback.
  function flush(unloading) {
    if (stopped) return;
    if (unloading) {
      sendInput();
      clearTimeout(scrollTimer);
      if (scrollTimer) sendScroll();
    }
    var body;
    while ((body = takeBatch())) {
      var batchId = randomId(8);
      if (
        !unloading ||
        !nav.sendBeacon ||
        !nav.sendBeacon(batchUrl(batchId), new Blob([body], { type: "text/plain" }))
      )
        send(body, batchId, 0);
    }
  }

  // ---- page lifecycle ----------------------------------------------------------------------------
  function onVisibility() {
    if (doc.visibilityState == "hidden") {
      activity();
      lastActiveAt = null;
      sendLeave();
      emit("visibility", { duration_ms: now() - visibleSince });
      flush(true);
    } else {
      lastActiveAt = visibleSince = now();
    }
  }

  function onPageHide() {
    if (doc.visibilityState != "hidden") sendLeave();
    flush(true);
  }

  function urlKey(href) {
    return href.split("#")[0];
  }

  // SPA navigation: the History API changed the URL (not only its fragment).
  function onNavigation() {
    if (stopped || urlKey(loc.href) == urlKey(pageUrl)) return;
    var previous = pageUrl;
    sendLeave();
    noteChange();
    startPageview(previous);
  }

  ["pushState", "replaceState"].forEach(function (name) {
    var original = history[name];
    history[name] = function () {
      var result = original.apply(this, arguments);
      onNavigation();
      return result;
    };
  });

  var options = { capture: true, passive: true };
  function listen(target, type, handler) {
    target.addEventListener(type, handler, options);
  }
  listen(win, "popstate", onNavigation);
  listen(doc, "click", onClick);
  listen(doc, "mousemove", onMove);
  listen(win, "scroll", onScroll);
  listen(win, "resize", onResize);
  listen(doc, "input", onInput);
  listen(doc, "change", onChange);
  listen(doc, "submit", onSubmit);
  listen(doc, "keydown", activity);
  listen(doc, "visibilitychange", onVisibility);
  listen(win, "pagehide", onPageHide);
  setInterval(function () {
    flush(false);
  }, FLUSH_INTERVAL_MS);

  startPageview(doc.referrer);
})();
