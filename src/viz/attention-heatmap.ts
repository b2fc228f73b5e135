// Attention weights as a picture (the lecture: "we can visualize the information used for a
// prediction"): an SVG heatmap with the source words along the top and the target words down
// the side, and a plain-text version for terminals. No dependency; the SVG is a string.
import { ShapeError } from '../runtime/check.js';

/** [Ty, Tx] weights: a { shape, data } tensor ([Ty, Tx] or [1, Ty, Tx]) or rows of numbers. */
export type HeatmapWeights = { shape: readonly number[]; data: ArrayLike<number> } | readonly ArrayLike<number>[];

export interface HeatmapSvgOptions {
  /** Side of one cell in px (default 28). */
  cellSize?: number;
  /** Label font size in px (default 12). */
  fontSize?: number;
  /** A title drawn above the map (escaped). */
  title?: string;
  /** Print each weight in its cell (default: when cells are at least 28 px). */
  showValues?: boolean;
}

function toRows(weights: HeatmapWeights, rows: number, cols: number): Float64Array[] {
  let out: Float64Array[];
  if (Array.isArray(weights)) {
    out = (weights as readonly ArrayLike<number>[]).map((r) => Float64Array.from(r));
  } else {
    const t = weights as { shape: readonly number[]; data: ArrayLike<number> };
    if (!t || !Array.isArray(t.shape) || !t.data) throw new TypeError('weights must be { shape, data } or an array of rows');
    const shape = t.shape.length === 3 && t.shape[0] === 1 ? t.shape.slice(1) : t.shape;
    if (shape.length !== 2) throw new ShapeError(`weights must have shape [Ty, Tx] (or [1, Ty, Tx]), got [${t.shape.join(', ')}]`);
    if (t.data.length !== shape[0] * shape[1]) throw new ShapeError(`weights has ${t.data.length} values, shape [${shape.join(', ')}] needs ${shape[0] * shape[1]}`);
    out = Array.from({ length: shape[0] }, (_, i) => Float64Array.from({ length: shape[1] }, (_, j) => t.data[i * shape[1] + j]));
  }
  if (out.length !== rows || out.some((r) => r.length !== cols)) {
    throw new ShapeError(`weights must be [targetTokens.length, sourceTokens.length] = [${rows}, ${cols}], got ${out.length} rows of [${[...new Set(out.map((r) => r.length))].join(', ')}]`);
  }
  out.forEach((r, i) => r.forEach((v, j) => {
    if (!Number.isFinite(v)) throw new RangeError(`weights[${i}][${j}] must be finite, got ${v}`);
  }));
  return out;
}

function checkTokens(name: string, tokens: readonly string[]): void {
  if (!Array.isArray(tokens) || tokens.some((t) => typeof t !== 'string')) throw new TypeError(`${name} must be an array of strings`);
  if (tokens.length === 0) throw new RangeError(`${name} must not be empty`);
}

/** Escapes text for SVG/XML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** White (0) to dark blue (the row's scale top, at least the largest weight) in sRGB. */
export function shade(v: number, top: number): string {
  const t = top > 0 ? Math.min(Math.max(v / top, 0), 1) : 0;
  const mix = (from: number, to: number) => Math.round(from + (to - from) * t);
  return `rgb(${mix(255, 8)},${mix(255, 48)},${mix(255, 107)})`;
}

/** Estimated average advance of a bold sans-serif character, in em (the title's width). */
const TITLE_CHAR_EM = 0.68;

/**
 * An SVG heatmap of attention weights: one cell per (target i, source j), darker = more weight,
 * source words on top (rotated), target words on the left, each cell with a <title> tooltip.
 */
export function attentionHeatmapSvg(weights: HeatmapWeights, sourceTokens: readonly string[], targetTokens: readonly string[], options: HeatmapSvgOptions = {}): string {
  checkTokens('sourceTokens', sourceTokens);
  checkTokens('targetTokens', targetTokens);
  const rows = toRows(weights, targetTokens.length, sourceTokens.length);
  const cell = options.cellSize ?? 28;
  const font = options.fontSize ?? 12;
  if (!(cell > 0) || !(font > 0)) throw new RangeError('cellSize and fontSize must be > 0');
  const showValues = options.showValues ?? cell >= 28;
  const charW = font * 0.62;
  const left = Math.ceil(Math.max(...targetTokens.map((t) => t.length)) * charW) + 10;
  const titleH = options.title ? font * 2 : 0;
  const top = Math.ceil(Math.max(...sourceTokens.map((t) => t.length)) * charW * Math.SQRT1_2) + font + 10 + titleH;
  // Wide enough for the map, the last rotated source words (they lean right) and the title
  // (bold: wider glyphs), so a long title is not cut off at the map's edge.
  const sourceRight = Math.max(...sourceTokens.map((t, j) => left + j * cell + cell / 2 + t.length * charW * Math.SQRT1_2));
  const titleRight = options.title ? left + options.title.length * font * TITLE_CHAR_EM : 0;
  const width = Math.ceil(Math.max(left + cell * sourceTokens.length, sourceRight, titleRight)) + 10;
  const height = top + cell * targetTokens.length + 10;
  let max = 0;
  for (const r of rows) for (const v of r) max = Math.max(max, v);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="${font}">`);
  // Opaque, so the map reads the same on a dark page or viewer.
  parts.push(`<rect class="background" x="0" y="0" width="${width}" height="${height}" fill="#fff"></rect>`);
  if (options.title) parts.push(`<text class="title" x="${left}" y="${font * 1.4}" font-weight="bold">${escapeXml(options.title)}</text>`);
  sourceTokens.forEach((tok, j) => {
    const x = left + j * cell + cell / 2, y = top - 6;
    parts.push(`<text class="source" x="${x}" y="${y}" transform="rotate(-45 ${x} ${y})">${escapeXml(tok)}</text>`);
  });
  targetTokens.forEach((tok, i) => {
    parts.push(`<text class="target" x="${left - 6}" y="${top + i * cell + cell / 2 + font / 3}" text-anchor="end">${escapeXml(tok)}</text>`);
  });
  rows.forEach((r, i) => r.forEach((v, j) => {
    const x = left + j * cell, y = top + i * cell;
    const tip = `${escapeXml(targetTokens[i])} ← ${escapeXml(sourceTokens[j])}: ${v.toFixed(3)}`;
    parts.push(`<rect class="cell" x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${shade(v, max)}" stroke="#ddd"><title>${tip}</title></rect>`);
    if (showValues) {
      const ink = max > 0 && v / max > 0.55 ? '#fff' : '#333';
      parts.push(`<text class="value" x="${x + cell / 2}" y="${y + cell / 2 + font / 3}" text-anchor="middle" font-size="${Math.round(font * 0.75)}" fill="${ink}">${v.toFixed(2).replace(/^0/, '')}</text>`);
    }
  }));
  parts.push('</svg>');
  return parts.join('\n');
}

export interface HeatmapTextOptions {
  /** Characters from light to dark (default ' .:-=+*#%@'). */
  ramp?: string;
  /** Characters per cell (default 2). */
  cellWidth?: number;
}

/**
 * The same map for a terminal: one row per target word, one shaded block per source word,
 * the source words listed underneath by column number.
 */
export function attentionHeatmapText(weights: HeatmapWeights, sourceTokens: readonly string[], targetTokens: readonly string[], options: HeatmapTextOptions = {}): string {
  checkTokens('sourceTokens', sourceTokens);
  checkTokens('targetTokens', targetTokens);
  const rows = toRows(weights, targetTokens.length, sourceTokens.length);
  const ramp = options.ramp ?? ' .:-=+*#%@';
  const w = options.cellWidth ?? 2;
  if (ramp.length < 2) throw new RangeError('ramp needs at least 2 characters');
  let max = 0;
  for (const r of rows) for (const v of r) max = Math.max(max, v);
  const labelW = Math.max(...targetTokens.map((t) => t.length));
  const lines: string[] = [];
  lines.push(' '.repeat(labelW) + ' |' + sourceTokens.map((_, j) => String(j % 100).padStart(w).slice(-w)).join('') + '|');
  rows.forEach((r, i) => {
    const cells = Array.from(r, (v) => {
      const k = max > 0 ? Math.min(ramp.length - 1, Math.round((v / max) * (ramp.length - 1))) : 0;
      return ramp[k].repeat(w);
    }).join('');
    lines.push(targetTokens[i].padStart(labelW) + ' |' + cells + '|');
  });
  lines.push(sourceTokens.map((t, j) => `${j}:${t}`).join(' '));
  return lines.join('\n');
}
