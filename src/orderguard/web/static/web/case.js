// The case page's deadline countdown: ticks every second from the time the server rendered,
// and turns red once the deadline has passed. Redrawn panels (htmx) bring a fresh element.
(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    var boxes = document.querySelectorAll(".countdown[data-due]");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      var seconds = Math.round((Date.parse(box.dataset.due) - Date.now()) / 1000);
      var left = Math.abs(seconds);
      var text = Math.floor(left / 3600) + ":" + pad(Math.floor(left % 3600 / 60)) + ":" + pad(left % 60);
      var over = seconds < 0;
      box.textContent = (over ? box.dataset.over : box.dataset.left) + " " + text;
      box.classList.toggle("overdue", over);
      box.classList.toggle("text-danger", over);
    }
  }
  setInterval(tick, 1000);
})();
