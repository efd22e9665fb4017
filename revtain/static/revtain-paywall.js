/*!
 * Revtain paywall snippet: tells a customer whose payment failed, in the merchant's own app, and
 * offers the way to fix it. Plain JavaScript, no dependencies, no build step.
 *
 * Configure it with data attributes on the script tag or with an object set before it loads:
 *   <script src="https://api.revtain.com/revtain-paywall.js" async
 *           data-publishable-key="rev_pk_…" data-customer-email="jo@example.com"
 *           data-card-update-url="https://app.example.com/billing"
 *           data-brand-name="Acme" data-brand-color="#6366f1"></script>
 *   window.RevtainPaywall = {publishableKey, customerEmail, cardUpdateUrl, brandName, brandColor};
 * (``window.RevtainPaywall`` wins over the attributes; ``apiBase`` / ``data-api-base`` and
 * ``timeoutMs`` / ``data-timeout-ms`` are optional.)
 *
 * It asks GET /api/recovery/paywall-status once per browser session (the answer is kept in
 * sessionStorage), shows a dismissible dialog only when the customer is past due, and stays silent
 * on any error or timeout. It injects no inline script or style markup: styles are set through the
 * CSSOM, which a Content-Security-Policy without 'unsafe-inline' allows.
 */
(function () {
  "use strict";

  var DEFAULT_COLOR = "#2dd4bf";
  var DEFAULT_TIMEOUT_MS = 4000;
  var STORAGE_PREFIX = "revtain-paywall:v1:";
  var Z_TOP = "2147483000";

  function snippetScript() {
    if (document.currentScript) return document.currentScript;
    var scripts = document.getElementsByTagName("script");
    for (var i = scripts.length - 1; i >= 0; i--) {
      if (/\/revtain-paywall\.js(\?|#|$)/.test(scripts[i].src || "")) return scripts[i];
    }
    return null;
  }

  function readConfig(script) {
    var given = (typeof window.RevtainPaywall === "object" && window.RevtainPaywall) || {};
    var data = (script && script.dataset) || {};
    function pick(name) {
      var value = given[name] !== undefined && given[name] !== null ? given[name] : data[name];
      return value === undefined || value === null ? "" : String(value).trim();
    }
    var apiBase = pick("apiBase");
    if (!apiBase && script && script.src) apiBase = new URL(script.src, location.href).origin;
    return {
      publishableKey: pick("publishableKey"),
      customerEmail: pick("customerEmail"),
      cardUpdateUrl: pick("cardUpdateUrl"),
      brandName: pick("brandName"),
      brandColor: pick("brandColor"),
      apiBase: apiBase.replace(/\/+$/, ""),
      timeoutMs: parseInt(pick("timeoutMs"), 10) || DEFAULT_TIMEOUT_MS
    };
  }

  // -- the session's memory (sessionStorage can be missing or refuse: then nothing is kept) ------

  function storage() {
    try {
      return window.sessionStorage;
    } catch (e) {
      return null;
    }
  }

  function remember(key, value) {
    try {
      var s = storage();
      if (!s) return;
      if (value === null) s.removeItem(key);
      else s.setItem(key, value);
    } catch (e) { /* full or refused: only the cache is lost */ }
  }

  function recall(key) {
    try {
      var s = storage();
      return s ? s.getItem(key) : null;
    } catch (e) {
      return null;
    }
  }

  // -- asking Revtain ---------------------------------------------------------------------------

  function isStatus(body) {
    return body && typeof body.isPastDue === "boolean" && typeof body.totalOwedCents === "number" &&
      typeof body.currency === "string" && typeof body.failedPaymentCount === "number";
  }

  function fetchStatus(config, done) {
    if (typeof window.fetch !== "function") return;
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var finished = false;
    var timer = setTimeout(function () {
      finished = true;
      if (controller) controller.abort();
    }, config.timeoutMs);
    var url = config.apiBase + "/api/recovery/paywall-status?customerEmail=" +
      encodeURIComponent(config.customerEmail);
    window.fetch(url, {
      method: "GET",
      headers: {"X-API-KEY": config.publishableKey},
      credentials: "omit",
      cache: "no-store",
      mode: "cors",
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (finished) return null;
      if (response.ok) return response.json();
      // A refused key or address will not change during this session: remember "nothing to show".
      // Rate limits and server errors may: ask again on the next page.
      if (response.status >= 400 && response.status < 500 && response.status !== 429) {
        return {isPastDue: false, totalOwedCents: 0, currency: "USD", failedPaymentCount: 0};
      }
      return null;
    }).then(function (body) {
      clearTimeout(timer);
      if (finished || !isStatus(body)) return;
      finished = true;
      done(body);
    })["catch"](function () {
      clearTimeout(timer);
      finished = true;
    });
  }

  // -- the dialog -------------------------------------------------------------------------------

  function validColor(value) {
    return /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(value) ? value : DEFAULT_COLOR;
  }

  function luminance(hex) {
    var h = hex.slice(1);
    if (h.length === 3) h = h.charAt(0) + h.charAt(0) + h.charAt(1) + h.charAt(1) + h.charAt(2) + h.charAt(2);
    var channels = [0, 2, 4].map(function (i) {
      var c = parseInt(h.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2];
  }

  function textOn(background) {
    // The text colour with the higher WCAG contrast on the brand colour.
    var l = luminance(background);
    var onDark = 1.05 / (l + 0.05);
    var onLight = (l + 0.05) / (luminance("#0f172a") + 0.05);
    return onLight >= onDark ? "#0f172a" : "#ffffff";
  }

  function money(cents, currency) {
    try {
      var format = new Intl.NumberFormat(undefined, {style: "currency", currency: currency});
      var digits = format.resolvedOptions().maximumFractionDigits;
      return format.format(cents / Math.pow(10, digits));
    } catch (e) {
      return (cents / 100).toFixed(2) + " " + currency;
    }
  }

  function safeUrl(value) {
    if (!value) return "";
    try {
      var url = new URL(value, location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : "";
    } catch (e) {
      return "";
    }
  }

  function css(element, styles) {
    for (var name in styles) {
      if (Object.prototype.hasOwnProperty.call(styles, name)) element.style.setProperty(name, styles[name]);
    }
    return element;
  }

  function make(tag, styles, text) {
    var element = css(document.createElement(tag), styles || {});
    if (text) element.textContent = text;
    return element;
  }

  function focusable(root) {
    return Array.prototype.filter.call(
      root.querySelectorAll("a[href], button:not([disabled])"),
      function (el) { return el.getClientRects().length > 0; }
    );
  }

  function showOverlay(config, status, keys) {
    var color = validColor(config.brandColor);
    var updateUrl = safeUrl(config.cardUpdateUrl);
    var previous = document.activeElement;
    var id = "revtain-paywall-" + Math.random().toString(36).slice(2, 8);
    var font = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";

    var backdrop = make("div", {
      position: "fixed", top: "0", right: "0", bottom: "0", left: "0", "z-index": Z_TOP,
      display: "flex", "align-items": "center", "justify-content": "center", padding: "16px",
      background: "rgba(15, 23, 42, 0.55)", "box-sizing": "border-box"
    });
    backdrop.setAttribute("data-revtain-paywall", "");
    var dialog = make("div", {
      position: "relative", "box-sizing": "border-box", width: "100%", "max-width": "440px",
      background: "#ffffff", color: "#0f172a", "border-radius": "12px", padding: "28px 24px 24px",
      "border-top": "6px solid " + color, "box-shadow": "0 20px 50px rgba(15, 23, 42, 0.35)",
      "font-family": font, "font-size": "16px", "line-height": "1.5", "text-align": "left"
    });
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-modal", "true");
    dialog.setAttribute("aria-labelledby", id + "-brand " + id + "-title");
    dialog.setAttribute("aria-describedby", id + "-text");
    dialog.tabIndex = -1;

    var close = make("button", {
      position: "absolute", top: "8px", right: "8px", width: "40px", height: "40px", border: "0",
      background: "transparent", color: "#475569", "font-size": "24px", "line-height": "1",
      cursor: "pointer", "border-radius": "8px", "font-family": font
    }, "\u00d7");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss");

    var brand = make("p", {
      margin: "0 40px 4px 0", "font-size": "14px", "font-weight": "600", color: "#475569"
    }, config.brandName || "");
    brand.id = id + "-brand";
    var title = make("h2", {
      margin: "0 40px 8px 0", "font-size": "20px", "line-height": "1.3", "font-weight": "700",
      color: "#0f172a", "font-family": font
    }, "Your payment didn\u2019t go through");
    title.id = id + "-title";
    var owed = money(status.totalOwedCents, status.currency);
    var text = make("p", {margin: "0 0 20px 0", color: "#334155"}, status.failedPaymentCount > 1
      ? status.failedPaymentCount + " payments totalling " + owed + " didn\u2019t go through. " +
        "Please update your payment method to keep your account active."
      : "Your payment of " + owed + " didn\u2019t go through. " +
        "Please update your payment method to keep your account active.");
    text.id = id + "-text";

    var actions = make("div", {display: "flex", "flex-wrap": "wrap", gap: "12px", "align-items": "center"});
    var later = make("button", {
      padding: "12px 16px", border: "1px solid #cbd5e1", "border-radius": "8px", background: "#ffffff",
      color: "#0f172a", "font-size": "16px", "font-family": font, cursor: "pointer"
    }, "Not now");
    later.type = "button";
    if (updateUrl) {
      var update = make("a", {
        display: "inline-block", padding: "12px 18px", "border-radius": "8px", background: color,
        color: textOn(color), "font-weight": "600", "text-decoration": "none", "font-size": "16px"
      }, "Update payment method");
      update.href = updateUrl;
      update.addEventListener("click", function () {
        // Back in this session after the update, the status is asked again rather than recalled.
        remember(keys.status, null);
      });
      actions.appendChild(update);
    }
    actions.appendChild(later);

    if (config.brandName) dialog.appendChild(brand);
    else dialog.setAttribute("aria-labelledby", id + "-title");
    dialog.appendChild(title);
    dialog.appendChild(text);
    dialog.appendChild(actions);
    dialog.appendChild(close);
    backdrop.appendChild(dialog);

    function dismiss() {
      remember(keys.dismissed, "1");
      document.removeEventListener("keydown", onKey, true);
      if (backdrop.parentNode) backdrop.parentNode.removeChild(backdrop);
      if (previous && typeof previous.focus === "function" && document.contains(previous)) previous.focus();
    }

    function onKey(event) {
      if (event.key === "Escape" || event.key === "Esc") {
        event.preventDefault();
        dismiss();
        return;
      }
      if (event.key !== "Tab") return;
      var items = focusable(dialog);
      if (!items.length) return;
      var first = items[0];
      var last = items[items.length - 1];
      var inside = dialog.contains(document.activeElement);
      if (event.shiftKey && (document.activeElement === first || !inside)) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && (document.activeElement === last || !inside)) {
        event.preventDefault();
        first.focus();
      }
    }

    close.addEventListener("click", dismiss);
    later.addEventListener("click", dismiss);
    backdrop.addEventListener("click", function (event) {
      if (event.target === backdrop) dismiss();
    });
    document.addEventListener("keydown", onKey, true);
    document.body.appendChild(backdrop);
    (focusable(dialog)[0] || dialog).focus();
  }

  // -- putting it together ----------------------------------------------------------------------

  function whenReady(fn) {
    // After the page's own scripts have run, so none of them takes focus from the dialog.
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }

  function run() {
    var config = readConfig(snippetScript());
    if (!config.publishableKey || !config.customerEmail || !config.apiBase) return;
    var base = STORAGE_PREFIX + config.publishableKey + ":" + config.customerEmail.toLowerCase();
    var keys = {status: base, dismissed: base + ":dismissed"};

    function show(status) {
      if (!status.isPastDue || recall(keys.dismissed) === "1") return;
      whenReady(function () {
        try {
          if (!document.querySelector("[data-revtain-paywall]")) showOverlay(config, status, keys);
        } catch (e) { /* silent: the page works as if the snippet were not there */ }
      });
    }

    var cached = recall(keys.status);
    if (cached) {
      try {
        var status = JSON.parse(cached);
        if (isStatus(status)) {
          show(status);
          return;
        }
      } catch (e) { /* a damaged entry: ask again */ }
    }
    fetchStatus(config, function (status) {
      remember(keys.status, JSON.stringify(status));
      show(status);
    });
  }

  try {
    run();
  } catch (e) { /* silent on any error */ }
})();
