// The overview page, progressively enhanced: the viewer's time zone and the daily chart.
// Without it the page shows UTC days and the table of days.
(function () {
  "use strict";
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }

  // Figures are bucketed by day on the server: ask for the viewer's days once, then keep the
  // zone (and the period) on every link and on the number picker.
  function useViewerZone(root) {
    var params = new URLSearchParams(location.search);
    if (root && zone && !params.has("tz") && zone !== root.dataset.tz) {
      params.set("tz", zone);
      location.replace(location.pathname + "?" + params.toString());
      return false;
    }
    var tz = params.get("tz") || (root ? root.dataset.tz : "") || zone;
    document.querySelectorAll("a[data-period]").forEach(function (a) {
      var url = new URL(a.href, location.href);
      if (tz && tz !== "UTC" && !url.searchParams.has("tz")) {
        url.searchParams.set("tz", tz);
        a.href = url.pathname + url.search;
      }
    });
    keepOnPicker("tz", tz && tz !== "UTC" ? tz : "");
    keepOnPicker("period", params.get("period") || "");
    return true;
  }

  function keepOnPicker(name, value) {
    var form = document.querySelector("form.picker");
    if (!form || !value || form.querySelector("input[name='" + name + "']")) return;
    var input = document.createElement("input");
    input.type = "hidden"; input.name = name; input.value = value;
    form.appendChild(input);
  }

  function steps() {
    var out = [];
    for (var p = 1; p <= 1e7; p *= 10) { out.push(p, 2 * p, 5 * p); }
    return out;
  }

  function drawChart() {
    var el = document.getElementById("daily-chart");
    var source = document.getElementById("daily-data");
    if (!el || !source || typeof window.uPlot !== "function") return;
    var data = JSON.parse(source.textContent);
    var fmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
    var labels = data.dates.map(function (d) { return fmt.format(new Date(d + "T00:00:00Z")); });
    var xs = data.dates.map(function (_, i) { return i; });
    el.hidden = false;
    // Bars, not lines: a day is a count of its own, and a line from the first day made it
    // look like a spike. Sent and failed stand side by side on each day.
    var bars = window.uPlot.paths && window.uPlot.paths.bars;
    var n = xs.length;
    var opts = {
      width: el.clientWidth || 600, height: 300,
      scales: {
        x: { time: false, range: function () { return [-0.5, n - 0.5]; } },
        y: { range: function (u, min, max) { return [0, Math.max(4, max)]; } }
      },
      axes: [
        { space: 60, incrs: [1, 2, 7, 14, 30],
          values: function (u, splits) { return splits.map(function (i) { return labels[i] || ""; }); } },
        { incrs: steps(), label: "Messages" }
      ],
      series: [
        { label: "Day", value: function (u, v) { return v == null ? "—" : data.dates[v]; } },
        { label: "Sent", stroke: "#0b6e4f", fill: "#0b6e4f", width: 1, points: { show: false },
          paths: bars({ size: [0.4, 24], align: -1 }) },
        { label: "Failed", stroke: "#b42318", fill: "#b42318", width: 1, points: { show: false },
          paths: bars({ size: [0.4, 24], align: 1 }) }
      ]
    };
    var chart = new window.uPlot(opts, [xs, data.sent, data.failed], el);
    var details = document.getElementById("daily-table");
    if (details) details.open = false;  // the chart shows it; the table stays one click away
    window.addEventListener("resize", function () {
      chart.setSize({ width: el.clientWidth, height: 300 });
    });
  }

  if (useViewerZone(document.getElementById("overview"))) {
    try { drawChart(); } catch (e) {
      var el = document.getElementById("daily-chart");
      if (el) el.hidden = true;
    }
  }
})();
