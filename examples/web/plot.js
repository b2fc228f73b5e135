// Small drawing helpers of the playground page, with no dependency: the live loss curve
// (SVG), the forecaster's series (canvas) and the DMN's gates per pass (HTML bars).

const escapeXml = (s) => String(s).replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Compact number for axis labels: 0.0123 -> "0.012", 12345 -> "1.2e+4". */
function short(v) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(1) : String(Number(v.toPrecision(2)));
}

/**
 * The training loss per step as an SVG line on a log scale, with a smoothed line on top
 * (a centred moving average, since single mini-batch losses are noisy).
 * `total` fixes the x axis so the curve grows to the right as training goes.
 */
export function lossCurveSvg(losses, { total, width = 460, height = 220 } = {}) {
  const pad = { left: 48, right: 10, top: 10, bottom: 24 };
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const steps = Math.max(total ?? losses.length, 2);
  const finite = losses.filter((l) => Number.isFinite(l) && l > 0);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" class="loss-curve" viewBox="0 0 ${width} ${height}" role="img" aria-label="training loss per step">`];
  parts.push(`<rect x="${pad.left}" y="${pad.top}" width="${w}" height="${h}" fill="#fafbfc" stroke="#d8dde3"/>`);
  if (finite.length >= 2) {
    const logs = losses.map((l) => Math.log10(Math.max(l, 1e-12)));
    let hi = Math.max(...logs);
    let lo = Math.min(...logs);
    if (hi - lo < 0.3) {
      const mid = (hi + lo) / 2;
      hi = mid + 0.15;
      lo = mid - 0.15;
    }
    const x = (i) => pad.left + (w * i) / (steps - 1);
    const y = (v) => pad.top + (h * (hi - v)) / (hi - lo);
    const points = (series) => series.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    // A centred moving average (no lag, unlike an exponential one), about 2% of the steps wide.
    const half = Math.max(1, Math.round(logs.length / 100));
    const smooth = logs.map((_, i) => {
      const window = logs.slice(Math.max(0, i - half), i + half + 1);
      return window.reduce((a, b) => a + b, 0) / window.length;
    });
    // Grid lines at powers of ten inside the range, labelled.
    for (let p = Math.ceil(lo); p <= Math.floor(hi); p++) {
      parts.push(`<line x1="${pad.left}" x2="${pad.left + w}" y1="${y(p).toFixed(1)}" y2="${y(p).toFixed(1)}" stroke="#e6e9ed"/>`);
      parts.push(`<text x="${pad.left - 6}" y="${(y(p) + 4).toFixed(1)}" text-anchor="end">${short(10 ** p)}</text>`);
    }
    parts.push(`<text x="${pad.left - 6}" y="${pad.top + 9}" text-anchor="end">${short(10 ** hi)}</text>`);
    parts.push(`<text x="${pad.left - 6}" y="${pad.top + h}" text-anchor="end">${short(10 ** lo)}</text>`);
    parts.push(`<polyline fill="none" stroke="#9fc0ea" stroke-width="1" points="${points(logs)}"/>`);
    parts.push(`<polyline fill="none" stroke="#1f5fbf" stroke-width="2" points="${points(smooth)}"/>`);
  } else {
    parts.push(`<text x="${pad.left + w / 2}" y="${pad.top + h / 2}" text-anchor="middle" fill="#8a94a0">the loss curve appears here while training</text>`);
  }
  parts.push(`<text x="${pad.left}" y="${height - 6}">step 0</text>`);
  parts.push(`<text x="${pad.left + w}" y="${height - 6}" text-anchor="end">${steps}</text>`);
  parts.push(`<text x="${pad.left + w / 2}" y="${height - 6}" text-anchor="middle">training loss (log scale)</text>`);
  parts.push('</svg>');
  return parts.join('');
}

/** Target (wide grey) and prediction (thin red) of the forecaster, on a canvas. */
export function drawSeries(canvas, target, prediction) {
  const ctx = canvas.getContext('2d');
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  const sx = (i) => 10 + ((w - 20) * i) / (target.length - 1);
  const sy = (v) => h / 2 - (v * (h - 20)) / 3;
  for (const [series, color, lineWidth] of [[target, '#c4c9cf', 6], [prediction, '#d2492a', 2]]) {
    ctx.strokeStyle = color;
    ctx.lineWidth = lineWidth;
    ctx.beginPath();
    series.forEach((v, i) => (i === 0 ? ctx.moveTo(sx(i), sy(v)) : ctx.lineTo(sx(i), sy(v))));
    ctx.stroke();
  }
}

/**
 * The DMN's attention gates as a table: one row per fact, one bar per pass (the lecture's
 * picture of which facts each pass of the episodic memory looks at).
 * facts: string[M]; gates: number[passes][M] in [0, 1].
 */
export function gateTableHtml(facts, gates) {
  const head = gates.map((_, t) => `<th>pass ${t + 1}</th>`).join('');
  const rows = facts.map((fact, i) => {
    const cells = gates
      .map((pass) => {
        const g = pass[i] ?? 0;
        const pct = Math.max(0, Math.min(1, g)) * 100;
        return `<td class="gate"><span class="track"><span class="bar" style="width:${pct.toFixed(1)}%"></span></span><span class="value">${g.toFixed(2)}</span></td>`;
      })
      .join('');
    return `<tr><td class="fact"><span class="fact-id">${i + 1}</span>${escapeXml(fact)}</td>${cells}</tr>`;
  });
  return `<table class="gates"><thead><tr><th>fact</th>${head}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

export { escapeXml };
