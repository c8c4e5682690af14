// The dashboard's chart of open cases: drawn on load and again whenever htmx swaps the panels in.
(function () {
  "use strict";
  var chart = null;
  function draw() {
    var box = document.getElementById("cases-chart");
    var source = document.getElementById("cases-chart-data");
    if (chart) { chart.dispose(); chart = null; }
    if (!box || !source || typeof echarts === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var labels = JSON.parse(document.getElementById("cases-chart-labels").textContent);
    chart = echarts.init(box, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 40, right: 16, top: 32, bottom: 24 },
      xAxis: { type: "category", data: data.types },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: labels.on_time, type: "bar", stack: "cases", color: "#3f9c5f", data: data.on_time },
        { name: labels.due_soon, type: "bar", stack: "cases", color: "#e0a526", data: data.due_soon },
        { name: labels.overdue, type: "bar", stack: "cases", color: "#c4321c", data: data.overdue }
      ]
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
  document.body.addEventListener("htmx:afterSwap", draw);
  window.addEventListener("resize", function () { if (chart) { chart.resize(); } });
})();
