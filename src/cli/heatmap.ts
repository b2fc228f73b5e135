// Small attention heatmaps for the translate CLI and the demo: an SVG (one
// row per output token, one column per source token, darker = more weight)
// and a text version with shade characters. Kept local to the CLI until the
// attention layer's own heatmap helpers are merged.

export interface HeatmapInput {
  /** weights[i][j]: output token i's weight on source token j. */
  weights: ArrayLike<number>[];
  sourceTokens: string[];
  targetTokens: string[];
  title?: string;
}

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

function checkShape(h: HeatmapInput): void {
  if (h.weights.length !== h.targetTokens.length) throw new Error(`heatmap: ${h.weights.length} weight rows for ${h.targetTokens.length} target tokens`);
  h.weights.forEach((row, i) => {
    if (row.length !== h.sourceTokens.length) throw new Error(`heatmap: row ${i} has ${row.length} weights for ${h.sourceTokens.length} source tokens`);
  });
}

export function attentionHeatmapSvg(h: HeatmapInput): string {
  checkShape(h);
  const cell = 36;
  const charW = 7.5;
  const left = Math.ceil(Math.max(4, ...h.targetTokens.map((t) => t.length)) * charW) + 16;
  const top = Math.ceil(Math.max(4, ...h.sourceTokens.map((t) => t.length)) * charW * 0.75) + 24 + (h.title ? 22 : 0);
  const width = left + h.sourceTokens.length * cell + 16;
  const height = top + h.targetTokens.length * cell + 16;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  if (h.title) parts.push(`<text x="8" y="18" font-size="14">${escapeXml(h.title)}</text>`);
  h.sourceTokens.forEach((t, j) => {
    const x = left + j * cell + cell / 2;
    parts.push(`<text transform="translate(${x},${top - 6}) rotate(-45)">${escapeXml(t)}</text>`);
  });
  h.targetTokens.forEach((t, i) => {
    const y = top + i * cell + cell / 2 + 4;
    parts.push(`<text x="${left - 8}" y="${y}" text-anchor="end">${escapeXml(t)}</text>`);
    for (let j = 0; j < h.sourceTokens.length; j++) {
      const w = Math.max(0, Math.min(1, Number(h.weights[i][j])));
      const shade = Math.round(255 * (1 - w));
      parts.push(`<rect x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="rgb(${shade},${shade},${Math.round(255 - 155 * w)})" stroke="#ddd"><title>${escapeXml(t)} / ${escapeXml(h.sourceTokens[j])}: ${w.toFixed(3)}</title></rect>`);
    }
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

const SHADES = [' ', '░', '▒', '▓', '█'];

/** Rows are output tokens, columns source tokens; each cell shows the weight with a shade. */
export function attentionHeatmapText(h: HeatmapInput): string {
  checkShape(h);
  const colW = Math.max(3, ...h.sourceTokens.map((t) => t.length)) + 1;
  const rowW = Math.max(...h.targetTokens.map((t) => t.length), 1) + 1;
  const lines = [' '.repeat(rowW) + h.sourceTokens.map((t) => t.padEnd(colW)).join('')];
  h.targetTokens.forEach((t, i) => {
    const cells = Array.from(h.sourceTokens, (_, j) => {
      const w = Math.max(0, Math.min(1, Number(h.weights[i][j])));
      return SHADES[Math.min(4, Math.round(w * 4))].repeat(colW - 1) + ' ';
    });
    lines.push(t.padEnd(rowW) + cells.join(''));
  });
  return lines.join('\n');
}
