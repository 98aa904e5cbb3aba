// A small line chart on a canvas: a few series over time, nothing else.
"use strict";

function drawChart(canvas, series, spanSeconds) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  ctx.clearRect(0, 0, width, height);
  const pad = { left: 36, right: 8, top: 8, bottom: 18 };
  const points = series.flatMap((s) => s.points);
  if (points.length === 0) return;
  const now = Math.max(...points.map((p) => p.t));
  const top = Math.max(1, ...points.map((p) => p.v));
  const x = (t) => pad.left + (1 - (now - t) / spanSeconds) * (width - pad.left - pad.right);
  const y = (v) => height - pad.bottom - (v / top) * (height - pad.top - pad.bottom);
  ctx.strokeStyle = "#e3e6eb";
  ctx.fillStyle = "#5b6475";
  ctx.font = "11px system-ui, sans-serif";
  for (const v of [0, top / 2, top]) {
    ctx.beginPath();
    ctx.moveTo(pad.left, y(v));
    ctx.lineTo(width - pad.right, y(v));
    ctx.stroke();
    ctx.fillText(String(Math.round(v)), 2, y(v) + 4);
  }
  ctx.fillText(`-${Math.round(spanSeconds / 60)} min`, pad.left, height - 4);
  ctx.fillText("now", width - pad.right - 22, height - 4);
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    s.points.forEach((p, i) => (i ? ctx.lineTo(x(p.t), y(p.v)) : ctx.moveTo(x(p.t), y(p.v))));
    ctx.stroke();
  }
}
