// The report page's charts: type shares (pie), opened per day per type against the previous
// period's daily total (lines), handling times per type and time spent per step (bars, hours).
(function () {
  "use strict";
  var charts = [];
  function init(id) {
    var box = document.getElementById(id);
    if (!box) { return null; }
    var chart = echarts.init(box, null, { renderer: "svg" });
    charts.push(chart);
    return chart;
  }
  function draw() {
    var source = document.getElementById("report-chart-data");
    if (!source || typeof echarts === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var labels = JSON.parse(document.getElementById("report-chart-labels").textContent);
    var shares = init("chart-shares");
    if (shares) {
      shares.setOption({
        animation: false,
        tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
        series: [{ type: "pie", radius: ["35%", "70%"],
          data: data.types.map(function (t, i) { return { name: t, value: data.opened[i] }; })
            .filter(function (d) { return d.value > 0; }) }]
      });
    }
    var trend = init("chart-trend");
    if (trend) {
      var series = data.series.map(function (s) {
        return { name: s.name, type: "line", stack: "opened", areaStyle: {}, data: s.data };
      });
      series.push({ name: labels.previous, type: "line", lineStyle: { type: "dashed" }, data: data.previous });
      trend.setOption({
        animation: false,
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 40, right: 16, top: 32, bottom: 24 },
        xAxis: { type: "category", data: data.days },
        yAxis: { type: "value", minInterval: 1 },
        series: series
      });
    }
    var handling = init("chart-handling");
    if (handling) {
      handling.setOption({
        animation: false,
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        legend: { top: 0 },
        grid: { left: 40, right: 16, top: 32, bottom: 24 },
        xAxis: { type: "category", data: data.types },
        yAxis: { type: "value" },
        series: [
          { name: labels.median, type: "bar", data: data.median_h },
          { name: labels.p90, type: "bar", data: data.p90_h },
          { name: labels.working_median, type: "bar", data: data.working_median_h },
          { name: labels.working_p90, type: "bar", data: data.working_p90_h }
        ]
      });
    }
    var steps = init("chart-steps");
    if (steps) {
      steps.setOption({
        animation: false,
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        legend: { top: 0 },
        grid: { left: 8, right: 24, top: 32, bottom: 24, containLabel: true },
        xAxis: { type: "value" },
        yAxis: { type: "category", data: data.steps, inverse: true },
        series: [
          { name: labels.median, type: "bar", data: data.step_median_h },
          { name: labels.working_median, type: "bar", data: data.step_working_median_h }
        ]
      });
    }
  }
  document.addEventListener("DOMContentLoaded", draw);
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
