// Records a page with the real, unmodified rrweb recorder (its UMD bundle is injected before this
// file) and posts its event batches to the collector's `POST /v1/rrweb` (docs/rrweb.md).
//
// Configuration comes from `window.__heatlakeRrweb`: { site, key, collector } to post, or
// { capture: true } to keep the events in `window.__rrwebEvents` (how datasets/rrweb/ was made).
// The one addition to plain rrweb is a custom event `heatlake.document` with the document size,
// since no rrweb event carries it and scroll depth needs it.
(function () {
  // Playwright runs init scripts in every frame, rrweb's own helper iframe included: record the
  // top page only.
  if (window !== window.top) return;
  var config = window.__heatlakeRrweb || {};
  var FLUSH_INTERVAL_MS = 1000;
  var pageviewId = Math.random().toString(16).slice(2) + Date.now().toString(16);
  var sent = 0; // rrweb events of this page view already posted: the next batch's `offset`
  var pending = [];
  var captured = (window.__rrwebEvents = []);

  function post(unloading) {
    if (!pending.length || config.capture) return;
    var body = JSON.stringify({
      site: config.site,
      visitor_id: "rrweb-visitor",
      session_id: "rrweb-session",
      pageview_id: pageviewId,
      offset: sent,
      events: pending,
    });
    sent += pending.length;
    pending = [];
    var url = config.collector + "v1/rrweb?key=" + encodeURIComponent(config.key);
    if (unloading && navigator.sendBeacon(url, new Blob([body], { type: "text/plain" }))) return;
    fetch(url, { method: "POST", body: body, keepalive: true, headers: { "Content-Type": "text/plain" } });
  }

  var lastSize = "";
  function documentSize() {
    var root = document.documentElement;
    var size = { width: root.scrollWidth, height: root.scrollHeight };
    if (size.width + "x" + size.height != lastSize) {
      lastSize = size.width + "x" + size.height;
      rrweb.record.addCustomEvent("heatlake.document", size);
    }
  }

  function start() {
    rrweb.record({
      emit: function (event) {
        if (config.capture) captured.push(event);
        else pending.push(event);
      },
    });
    documentSize();
    addEventListener("scroll", documentSize, { passive: true });
    addEventListener("resize", documentSize, { passive: true });
    setInterval(post, FLUSH_INTERVAL_MS);
    addEventListener("pagehide", function () {
      post(true);
    });
  }

  if (document.readyState == "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
