/* The dunning template editor's live preview (progressive enhancement: without this script the
   Preview button renders the same). As the marketer types, the form is posted to the editor's
   live-preview endpoint (nothing is saved); the answer updates the sandboxed frame, the subject,
   the text part and the status line. Loaded as a file under the editor's CSP: no inline script. */
(function () {
  "use strict";
  var form = document.getElementById("template-form");
  var frame = document.getElementById("preview-frame");
  if (!form || !frame || !window.fetch || !window.FormData) {
    return;
  }
  var url = form.getAttribute("data-live-preview");
  var subject = document.getElementById("preview-subject");
  var html = document.getElementById("preview-html");
  var text = document.getElementById("preview-text");
  var status = document.getElementById("preview-status");
  var timer = null;
  var latest = 0;

  function say(message) {
    status.textContent = message;
  }

  function refresh() {
    var mine = ++latest;
    var data = new FormData(form);
    data.delete("save");
    data.delete("preview");
    fetch(url, {method: "POST", body: data, credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        if (mine !== latest) {
          return;
        }
        if (answer.error) {
          say(answer.error);
          return;
        }
        say("");
        subject.textContent = answer.subject;
        html.textContent = answer.html;
        text.textContent = answer.text;
        if (answer.preview_url) {
          frame.src = answer.preview_url;
        }
      })
      .catch(function () {
        if (mine === latest) {
          say("The live preview is not available right now: press Preview.");
        }
      });
  }

  form.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 400);
  });
}());
