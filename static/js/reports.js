/* The report pages' charts: drawn by Chart.js (static/vendor/chart.umd.min.js, with the matrix
   chart type of static/vendor/chartjs-chart-matrix.min.js for the heat map) from the JSON in
   #report-chart-data. The tables below the charts carry the same figures as text. */
(function () {
  "use strict";

  var BLUE = "#1d4f91";
  var ORANGE = "#c25e00";
  // The heat map's darkest cell; lighter cells mix it with white by their share of the peak.
  var HEAT_RGB = [29, 79, 145];

  function counting(horizontal) {
    return {
      x: { beginAtZero: true, ticks: { precision: 0 }, grid: { display: !horizontal } },
      y: { beginAtZero: true, ticks: { precision: 0 } },
    };
  }

  function draw(canvasId, config) {
    var canvas = document.getElementById(canvasId);
    if (!canvas) { return; }
    config.options = Object.assign({ maintainAspectRatio: false, animation: false }, config.options);
    new window.Chart(canvas, config);
    canvas.dataset.drawn = "true";
  }

  function bar(canvasId, series, label, horizontal) {
    if (!series) { return; }
    draw(canvasId, {
      type: "bar",
      data: {
        labels: series.labels,
        datasets: [{ label: label, data: series.values, backgroundColor: BLUE }],
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        plugins: { legend: { display: false } },
        scales: counting(horizontal),
      },
    });
  }

  function hours(series) {
    if (!series) { return; }
    draw("chart-hours", {
      type: "bar",
      data: {
        labels: series.labels,
        datasets: [
          { label: "Arrivals", data: series.arrivals, backgroundColor: BLUE },
          { label: "Served", data: series.served, backgroundColor: ORANGE },
        ],
      },
      options: { plugins: { legend: { position: "bottom" } }, scales: counting(false) },
    });
  }

  function heatColour(value, peak) {
    var share = peak > 0 ? value / peak : 0;
    var mix = HEAT_RGB.map(function (channel) {
      return Math.round(255 - (255 - channel) * share);
    });
    return "rgb(" + mix.join(",") + ")";
  }

  function heatmap(series) {
    if (!series || !window.Chart.registry.controllers.get("matrix")) { return; }
    var hourLabels = [];
    var cells = [];
    series.counts.forEach(function (row, weekday) {
      row.forEach(function (count, hour) {
        var label = String(hour).padStart(2, "0");
        if (weekday === 0) { hourLabels.push(label); }
        cells.push({ x: label, y: series.weekdays[weekday], v: count });
      });
    });
    draw("chart-heatmap", {
      type: "matrix",
      data: {
        datasets: [{
          label: "Arrivals",
          data: cells,
          backgroundColor: function (context) {
            var cell = context.dataset.data[context.dataIndex];
            return heatColour(cell ? cell.v : 0, series.peak);
          },
          borderColor: "#d0d7e2",
          borderWidth: 1,
          width: function (context) {
            var area = context.chart.chartArea;
            return area ? area.width / 24 - 1 : 0;
          },
          height: function (context) {
            var area = context.chart.chartArea;
            return area ? area.height / 7 - 1 : 0;
          },
        }],
      },
      options: {
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              title: function () { return ""; },
              label: function (context) {
                var cell = context.raw;
                return cell.y + " " + cell.x + ":00 — " + cell.v + " arrivals";
              },
            },
          },
        },
        scales: {
          x: {
            type: "category", labels: hourLabels, offset: true,
            grid: { display: false },
          },
          y: {
            type: "category", labels: series.weekdays, offset: true,
            // The matrix chart type reverses its y axis by default; Monday goes on top.
            reverse: false,
            grid: { display: false },
          },
        },
      },
    });
  }

  function drawAll() {
    var source = document.getElementById("report-chart-data");
    if (!source || !window.Chart) { return; }
    var data = JSON.parse(source.textContent);
    hours(data.hours);
    bar("chart-waits", data.waits, "Patients", false);
    bar("chart-clinicians", data.clinicians, "Served", true);
    bar("chart-days", data.days, "Served", false);
    heatmap(data.heatmap);
  }

  // Redraw at print size, so the printed charts fit the A4 column.
  window.addEventListener("beforeprint", function () {
    if (!window.Chart) { return; }
    Object.values(window.Chart.instances).forEach(function (chart) { chart.resize(); });
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
}());
