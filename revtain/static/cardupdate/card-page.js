/* The card-update page's progressive enhancement (the form works the same without it):
 * the card's brand shown as its number is typed, the number spaced as printed on the card,
 * the expiry written MM/YY, and a logo that fails to load replaced by the brand's name.
 * Loaded with the page's CSP nonce; no inline script, no eval, no third-party code. */
(function () {
  "use strict";

  var BRANDS = [
    { name: "Amex", test: /^3[47]/, groups: [4, 6, 5], cvc: 4 },
    { name: "Visa", test: /^4/, groups: [4, 4, 4, 4, 3], cvc: 3 },
    { name: "Mastercard", test: /^(5[1-5]|2(2[2-9][1-9]|2[3-9]|[3-6]|7[01]|720))/, groups: [4, 4, 4, 4], cvc: 3 },
    { name: "Discover", test: /^(6011|65|64[4-9])/, groups: [4, 4, 4, 4, 3], cvc: 3 },
    { name: "JCB", test: /^35(2[89]|[3-8])/, groups: [4, 4, 4, 4, 3], cvc: 3 },
    { name: "Diners Club", test: /^3(0[0-5]|[689])/, groups: [4, 6, 4, 5], cvc: 3 }
  ];

  function brandOf(digits) {
    for (var i = 0; i < BRANDS.length; i += 1) {
      if (BRANDS[i].test.test(digits)) { return BRANDS[i]; }
    }
    return null;
  }

  function spaced(digits, groups) {
    var parts = [], at = 0;
    for (var i = 0; i < groups.length && at < digits.length; i += 1) {
      parts.push(digits.slice(at, at + groups[i]));
      at += groups[i];
    }
    if (at < digits.length) { parts.push(digits.slice(at)); }
    return parts.join(" ");
  }

  // Keep the caret after the same number of digits when the text is rewritten.
  function rewrite(input, text, isKept) {
    var caret = input.selectionStart === null ? input.value.length : input.selectionStart;
    var kept = 0;
    for (var i = 0; i < caret; i += 1) { if (isKept(input.value.charAt(i))) { kept += 1; } }
    input.value = text;
    var position = 0;
    while (position < text.length && kept > 0) {
      if (isKept(text.charAt(position))) { kept -= 1; }
      position += 1;
    }
    if (document.activeElement === input) { input.setSelectionRange(position, position); }
  }

  function isDigit(ch) { return ch >= "0" && ch <= "9"; }

  var number = document.getElementById("number");
  var label = document.getElementById("card-brand");
  var cvc = document.getElementById("cvc");
  if (number) {
    var update = function () {
      var digits = number.value.replace(/\D/g, "").slice(0, 19);
      var brand = brandOf(digits);
      rewrite(number, spaced(digits, brand ? brand.groups : [4, 4, 4, 4, 3]), isDigit);
      if (label) { label.textContent = brand && digits.length > 1 ? brand.name : ""; }
      if (cvc) { cvc.placeholder = brand && brand.cvc === 4 ? "1234" : "123"; }
    };
    number.addEventListener("input", update);
    if (number.value) { update(); }
  }

  var expiry = document.getElementById("expiry");
  if (expiry) {
    expiry.addEventListener("input", function (event) {
      var digits = expiry.value.replace(/\D/g, "");
      // a lone 2-9 is a month: 4 -> 04
      if (digits.length === 1 && digits > "1") { digits = "0" + digits; }
      if (event.inputType && event.inputType.indexOf("delete") === 0 && digits.length <= 2) { return; }
      // autofill gives 01/2030 or 012030: keep the year's last two digits
      if (digits.length === 6) { digits = digits.slice(0, 2) + digits.slice(4); }
      digits = digits.slice(0, 4);
      rewrite(expiry, digits.length >= 2 ? digits.slice(0, 2) + " / " + digits.slice(2) : digits, isDigit);
    });
  }

  function logoFailed(img) {
    var name = document.createElement("span");
    name.textContent = img.getAttribute("data-fallback") || img.alt;
    img.replaceWith(name);
  }
  var logos = document.querySelectorAll("img[data-fallback]");
  Array.prototype.forEach.call(logos, function (img) {
    if (img.complete && img.naturalWidth === 0) { logoFailed(img); return; }
    img.addEventListener("error", function () { logoFailed(img); });
  });
}());
