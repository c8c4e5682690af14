// The audits page's trend: per warehouse, the day's failed-share estimate and its interval.
(function () {
  "use strict";
  function draw() {
    var box = document.getElementById("audit-trend");
    var source = document.getElementById("audit-trend-data");
    if (!box || !source || typeof echarts === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var labels = JSON.parse(document.getElementById("audit-trend-labels").textContent);
    var days = [];
    Object.keys(data).forEach(function (w) { days = days.concat(data[w].days); });
    days = Array.from(new Set(days)).sort();
    var series = [];
    Object.keys(data).forEach(function (w) {
      var s = data[w];
      function at(values) { return days.map(function (d) { var i = s.days.indexOf(d); return i < 0 ? null : values[i]; }); }
      series.push({ name: w + " " + labels.share, type: "line", connectNulls: true, data: at(s.share) });
      series.push({ name: w + " " + labels.low, type: "line", connectNulls: true, lineStyle: { type: "dashed", opacity: 0.5 }, symbol: "none", data: at(s.low) });
      series.push({ name: w + " " + labels.high, type: "line", connectNulls: true, lineStyle: { type: "dashed", opacity: 0.5 }, symbol: "none", data: at(s.high) });
    });
    var chart = echarts.init(box, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v + "%"; } },
      legend: { top: 0, type: "scroll" },
      grid: { left: 40, right: 16, top: 32, bottom: 24 },
      xAxis: { type: "category", data: days },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: series
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.addEventListener("DOMContentLoaded", draw);
})();
