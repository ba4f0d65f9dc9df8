/* The report pages' charts: drawn by Chart.js (static/vendor/chart.umd.min.js) from the JSON in
   #report-chart-data. The tables below the charts carry the same figures as text. */
(function () {
  "use strict";

  var COLOUR = "#1d4f91";

  function bar(canvasId, series, label, horizontal) {
    var canvas = document.getElementById(canvasId);
    if (!canvas || !series) { return; }
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: series.labels,
        datasets: [{ label: label, data: series.values, backgroundColor: COLOUR }],
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: false } },
        scales: {
          x: { beginAtZero: true, ticks: { precision: 0 } },
          y: { beginAtZero: true, ticks: { precision: 0 } },
        },
      },
    });
    canvas.dataset.drawn = "true";
  }

  function draw() {
    var source = document.getElementById("report-chart-data");
    if (!source || !window.Chart) { return; }
    var data = JSON.parse(source.textContent);
    bar("chart-arrivals", data.arrivals, "Arrivals", false);
    bar("chart-clinicians", data.clinicians, "Served", true);
    bar("chart-days", data.days, "Served", false);
  }

  // Redraw at print size, so the printed charts fit the A4 column.
  window.addEventListener("beforeprint", function () {
    if (!window.Chart) { return; }
    Object.values(window.Chart.instances).forEach(function (chart) { chart.resize(); });
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
}());
