// The console's little JavaScript: uPlot charts (sparkline, event form preview, reports chart) and timeline bars.
"use strict";
(function () {
  function sparkline(el) {
    const ys = JSON.parse(el.dataset.series);
    const now = Date.now() / 1000;
    const xs = ys.map((_, i) => now - (ys.length - i) * 60);
    new uPlot({width: el.clientWidth || 220, height: 60, legend: {show: false}, cursor: {show: false},
      axes: [{show: false}, {show: false}], series: [{}, {stroke: "#2d6cdf", fill: "rgba(45,108,223,.15)"}]},
      [xs, ys], el);
  }
  const COLOURS = ["#2d6cdf", "#e8590c", "#2f9e44", "#ae3ec9", "#f08c00", "#1098ad", "#c92a2a"];
  function chart(el, names, columns) {
    el.textContent = "";
    const series = [{}].concat(names.map((name, i) => ({
      label: name, stroke: COLOURS[i % COLOURS.length], width: i === 0 ? 2 : 1,
      paths: i === 0 ? uPlot.paths.stepped({align: 1}) : undefined, spanGaps: i !== 0, points: {show: false},
    })));
    const plot = new uPlot({width: el.clientWidth || 900, height: 300, series: series}, columns, el);
    el.dataset.points = String(columns[0].length);
    el.dataset.rendered = "yes";
    return plot;
  }
  function preview(form, el) {
    const get = (n) => form.elements[n].value;
    const values = get("values").split(",").map((v) => parseFloat(v)).filter((v) => !isNaN(v));
    const minutes = parseInt(get("minutes"), 10) || 60;
    const start = get("start") ? Date.parse(get("start") + "Z") / 1000 : Date.now() / 1000;
    if (!values.length) { el.textContent = "Type values to see the curve."; return; }
    const xs = values.map((_, i) => start + i * minutes * 60).concat([start + values.length * minutes * 60]);
    chart(el, [get("signal")], [xs, values.concat([values[values.length - 1]])]);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".timeline .bar").forEach((bar) => {
      bar.style.marginLeft = bar.dataset.left + "%";
      bar.style.width = bar.dataset.width + "%";
    });
    const spark = document.getElementById("reports-spark");
    if (spark) sparkline(spark);
    const form = document.getElementById("event-form");
    const pv = document.getElementById("preview");
    if (form && pv) { preview(form, pv); form.addEventListener("input", () => preview(form, pv)); }
    const rc = document.getElementById("report-chart");
    if (rc) fetch(rc.dataset.src, {credentials: "same-origin"}).then((r) => r.json())
      .then((d) => chart(rc, d.names, d.columns));
  });
})();
