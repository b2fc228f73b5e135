// Attention over an image's regions as a picture (the lecture's "VQA - visualizing the
// attention"): the grid itself, then one panel per pass with each region shaded by its gate,
// darker = more attention, the gate printed in the cell. No dependency; the SVG is a string.
import { ShapeError } from '../runtime/check.js';
import { escapeXml, shade } from './attention-heatmap.js';

/** What a region shows, drawn in the first panel (and faintly in the gate panels). */
export interface GridCellPicture {
  shape: 'circle' | 'square' | 'triangle' | 'star';
  /** Any SVG colour ('#d62728', 'red'). */
  colour: string;
}

export interface GridAttentionSvgOptions {
  /** Side of one region in px (default 44). */
  cellSize?: number;
  /** A title above the panels (escaped), e.g. the question and the answer. */
  title?: string;
  /** Row-major, one per region (null: empty): adds the "image" panel. */
  cells?: readonly (GridCellPicture | null)[];
  /** Row-major cells to outline in every gate panel (e.g. the supporting regions). */
  highlight?: readonly number[];
}

function shapePath(p: GridCellPicture, x: number, y: number, size: number, opacity: number): string {
  const cx = x + size / 2, cy = y + size / 2, r = size * 0.32;
  const style = `fill="${escapeXml(p.colour)}" fill-opacity="${opacity}" stroke="#333" stroke-opacity="${opacity}"`;
  if (p.shape === 'circle') return `<circle cx="${cx}" cy="${cy}" r="${r}" ${style}/>`;
  if (p.shape === 'square') return `<rect x="${cx - r}" y="${cy - r}" width="${2 * r}" height="${2 * r}" ${style}/>`;
  const points = p.shape === 'triangle'
    ? [[cx, cy - r], [cx + r, cy + r * 0.8], [cx - r, cy + r * 0.8]]
    : Array.from({ length: 10 }, (_, k) => {
        const a = -Math.PI / 2 + (k * Math.PI) / 5, rr = k % 2 === 0 ? r * 1.1 : r * 0.45;
        return [cx + rr * Math.cos(a), cy + rr * Math.sin(a)];
      });
  return `<polygon points="${points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ')}" ${style}/>`;
}

/**
 * An SVG of gates [pass][row-major region] over a rows x cols grid: the image panel (with
 * `cells`), then one shaded panel per pass, each region with a <title> tooltip.
 */
export function gridAttentionSvg(gates: readonly ArrayLike<number>[], rows: number, cols: number, options: GridAttentionSvgOptions = {}): string {
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(cols) || cols < 1) throw new RangeError(`rows and cols must be integers >= 1, got ${rows} x ${cols}`);
  if (!Array.isArray(gates) || gates.length === 0) throw new ShapeError('gates must be a non-empty array of passes, each rows * cols values');
  gates.forEach((g, t) => {
    if (g.length !== rows * cols) throw new ShapeError(`gates[${t}] has ${g.length} values, a ${rows} x ${cols} grid needs ${rows * cols}`);
    for (let i = 0; i < g.length; i++) if (!Number.isFinite(g[i])) throw new RangeError(`gates[${t}][${i}] must be finite, got ${g[i]}`);
  });
  const cells = options.cells;
  if (cells && cells.length !== rows * cols) throw new ShapeError(`cells has ${cells.length} entries, a ${rows} x ${cols} grid needs ${rows * cols}`);
  const size = options.cellSize ?? 44;
  if (!(size > 0)) throw new RangeError(`cellSize must be > 0, got ${size}`);
  const font = 12, gap = 24, pad = 10;
  const titleH = options.title ? font * 2 : 0;
  const panelW = cols * size, panelH = rows * size;
  const panels = gates.length + (cells ? 1 : 0);
  const width = pad * 2 + panels * panelW + (panels - 1) * gap;
  const height = pad + titleH + font * 1.6 + panelH + pad;
  const top = pad + titleH + font * 1.6;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="${font}">`];
  if (options.title) parts.push(`<text class="title" x="${pad}" y="${pad + font}" font-weight="bold">${escapeXml(options.title)}</text>`);
  const highlight = new Set(options.highlight ?? []);
  const panel = (k: number, label: string, draw: (cell: number, x: number, y: number) => void) => {
    const x0 = pad + k * (panelW + gap);
    parts.push(`<text class="panel" x="${x0}" y="${top - 5}">${escapeXml(label)}</text>`);
    for (let cell = 0; cell < rows * cols; cell++) draw(cell, x0 + (cell % cols) * size, top + Math.floor(cell / cols) * size);
  };
  if (cells) {
    panel(0, 'image', (cell, x, y) => {
      parts.push(`<rect x="${x}" y="${y}" width="${size}" height="${size}" fill="#fafafa" stroke="#ccc"/>`);
      if (cells[cell]) parts.push(shapePath(cells[cell]!, x, y, size, 1));
    });
  }
  gates.forEach((g, t) => {
    // The scale's top is at least twice the uniform gate, so that a pass attending nowhere in particular stays pale.
    let max = 2 / g.length;
    for (let i = 0; i < g.length; i++) max = Math.max(max, g[i]);
    panel(t + (cells ? 1 : 0), `pass ${t + 1}`, (cell, x, y) => {
      const v = g[cell];
      const stroke = highlight.has(cell) ? 'stroke="#e6550d" stroke-width="2"' : 'stroke="#ddd"';
      parts.push(`<rect class="cell" x="${x}" y="${y}" width="${size}" height="${size}" fill="${shade(v, max)}" ${stroke}><title>pass ${t + 1}, row ${Math.floor(cell / cols) + 1}, column ${(cell % cols) + 1}: ${v.toFixed(3)}</title></rect>`);
      if (cells?.[cell]) parts.push(shapePath(cells[cell]!, x, y, size, 0.25));
      const ink = max > 0 && v / max > 0.55 ? '#fff' : '#333';
      parts.push(`<text class="value" x="${x + size / 2}" y="${y + size - 5}" text-anchor="middle" font-size="${Math.round(font * 0.8)}" fill="${ink}">${v.toFixed(2).replace(/^0/, '')}</text>`);
    });
  });
  parts.push('</svg>');
  return parts.join('\n');
}
