// OMS staff dashboard: draws plotly charts (div.chart[data-figure]) when a page
// loads and whenever htmx swaps in new content, and keeps a scan box focused.
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

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSettle", function (event) { init(event.target); });
})();
