// Synthetic 2-D task for the MDLSTM chapter: per-pixel labelling of images of rectangle
// outlines, some closed and some with a gap. A pixel is "inside" when it lies off the
// outlines and no 4-connected path of off-outline pixels leads from it to the image border
// (flood fill from the border): a gap anywhere in an outline opens its whole interior, so a
// pixel's label depends on context along both axes, up to the whole image away.
import { Rng } from '../train/rng.js';

/** Labels: 0 outside, 1 on an outline, 2 inside a closed contour. */
export const CONTOUR_CLASSES = ['outside', 'outline', 'inside'] as const;

export interface ContourImagesOptions {
  count: number;
  rows: number;
  cols: number;
  seed?: number | string | Rng;
  /** Rectangles per image: 1..maxShapes (default 3). */
  maxShapes?: number;
  /** Probability that an outline gets a one-pixel gap (default 0.5). */
  gapProbability?: number;
}

export interface ContourImages {
  count: number;
  rows: number;
  cols: number;
  /** [count, rows, cols]: 1 on an outline, else 0. */
  images: Float32Array;
  /** [count, rows, cols]: CONTOUR_CLASSES indices. */
  labels: Int32Array;
}

function checkInt(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${String(v)}`);
  return v;
}

/** Seeded images of overlapping rectangle outlines and their per-pixel labels. Same seed, same images. */
export function contourImages(options: ContourImagesOptions): ContourImages {
  const count = checkInt('contourImages count', options.count, 0);
  const R = checkInt('contourImages rows', options.rows, 4);
  const C = checkInt('contourImages cols', options.cols, 4);
  const maxShapes = checkInt('contourImages maxShapes', options.maxShapes ?? 3, 1);
  const gapProbability = options.gapProbability ?? 0.5;
  if (!(gapProbability >= 0 && gapProbability <= 1)) throw new RangeError(`gapProbability must be in [0, 1], got ${gapProbability}`);
  const rng = options.seed instanceof Rng ? options.seed : new Rng(options.seed ?? 0);
  const P = R * C;
  const images = new Float32Array(count * P);
  const labels = new Int32Array(count * P);
  const stack = new Int32Array(P);
  for (let n = 0; n < count; n++) {
    const img = images.subarray(n * P, (n + 1) * P);
    const shapes = rng.integer(1, maxShapes);
    for (let s = 0; s < shapes; s++) {
      const h = rng.integer(3, Math.max(3, Math.floor(R * 0.9))), w = rng.integer(3, Math.max(3, Math.floor(C * 0.9)));
      const r0 = rng.integer(0, R - h), c0 = rng.integer(0, C - w);
      const border: number[] = [];
      for (let c = c0; c < c0 + w; c++) border.push(r0 * C + c, (r0 + h - 1) * C + c);
      for (let r = r0 + 1; r < r0 + h - 1; r++) border.push(r * C + c0, r * C + c0 + w - 1);
      for (const p of border) img[p] = 1;
      if (rng.bernoulli(gapProbability)) {
        // A gap off the corners (a corner gap leaves the outline closed under 4-connectivity).
        const side = rng.int(4);
        const along = side < 2 ? c0 + 1 + rng.int(w - 2) : r0 + 1 + rng.int(h - 2);
        const p = side === 0 ? r0 * C + along : side === 1 ? (r0 + h - 1) * C + along : side === 2 ? along * C + c0 : along * C + c0 + w - 1;
        img[p] = 0;
      }
    }
    // Flood fill of the off-outline pixels reachable from the border: those are outside.
    const lab = labels.subarray(n * P, (n + 1) * P);
    for (let p = 0; p < P; p++) lab[p] = img[p] === 1 ? 1 : 2;
    let top = 0;
    const visit = (p: number) => {
      if (lab[p] === 2) {
        lab[p] = 0;
        stack[top++] = p;
      }
    };
    for (let c = 0; c < C; c++) { visit(c); visit((R - 1) * C + c); }
    for (let r = 0; r < R; r++) { visit(r * C); visit(r * C + C - 1); }
    while (top > 0) {
      const p = stack[--top];
      const r = Math.floor(p / C), c = p % C;
      if (r > 0) visit(p - C);
      if (r < R - 1) visit(p + C);
      if (c > 0) visit(p - 1);
      if (c < C - 1) visit(p + 1);
    }
  }
  return { count, rows: R, cols: C, images, labels };
}

/** One image's labels as text rows: '.' outside, '#' outline, 'o' inside. */
export function contourMaskText(labels: ArrayLike<number>, rows: number, cols: number, offset = 0): string[] {
  const glyph = ['.', '#', 'o'];
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    let line = '';
    for (let c = 0; c < cols; c++) line += glyph[labels[offset + r * cols + c]] ?? '?';
    out.push(line);
  }
  return out;
}
