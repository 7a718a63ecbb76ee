// OMS staff dashboard: draws plotly charts (div.chart[data-figure]) when a page
// loads and whenever htmx swaps in new content, and keeps a scan box focused.
// The pages have no inline scripts or on...= attributes (the Content-Security-
// Policy allows scripts only from /static/): what they did is done here, by
// data attributes, with delegated listeners.
(function () {
  "use strict";

  function drawCharts(root) {
    if (!window.Plotly) return;
    root.querySelectorAll("div.chart[data-figure]").forEach(function (el) {
      var figure = JSON.parse(el.getAttribute("data-figure"));
      window.Plotly.react(el, figure.data, figure.layout, { responsive: true, displaylogo: false });
      el.setAttribute("data-drawn", "1");
    });
  }

  // An input marked data-keep-focus gets the focus back whenever it loses it
  // (a barcode scanner types into whatever has the focus).
  function keepFocus(root) {
    root.querySelectorAll("input[data-keep-focus]").forEach(function (input) {
      if (input.dataset.focusBound) return;
      input.dataset.focusBound = "1";
      input.addEventListener("blur", function () {
        setTimeout(function () {
          var active = document.activeElement;
          if (!active || active === document.body) input.focus();
        }, 0);
      });
      input.focus();
    });
  }

  function init(root) {
    drawCharts(root);
    keepFocus(root);
  }

  // <select data-autosubmit>: choosing an option submits its form (filters, language).
  document.addEventListener("change", function (event) {
    var select = event.target.closest && event.target.closest("select[data-autosubmit]");
    if (select && select.form) select.form.submit();
  });

  // <form data-confirm="question">: asks before a destructive post.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
  }, true);

  // <form data-clear-on-request="field">: empties the field once htmx has read
  // it, so the scanner can type the next code at once.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.target.closest && event.target.closest("form[data-clear-on-request]");
    if (form && form.elements[form.dataset.clearOnRequest]) form.elements[form.dataset.clearOnRequest].value = "";
  });

  // Pack station: after each answer the scan box shows the refusal state, and
  // takes the focus back when the swapped-out button had it.
  document.addEventListener("htmx:afterSwap", function () {
    var input = document.getElementById("scan-code");
    var station = document.getElementById("pack-station");
    if (!input || !station) return;
    if (station.dataset.result === "bad") { input.setAttribute("aria-invalid", "true"); }
    else { input.removeAttribute("aria-invalid"); }
    var active = document.activeElement;
    if (!active || active === document.body) input.focus();
  });

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSettle", function (event) { init(event.target); });
})();
