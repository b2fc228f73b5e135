// The segment task: contour labels by flood fill (a gap opens an outline's interior), a
// small MDLSTM segmenter trained on the tape to a held-out threshold, and the CLI recipe's
// pieces (parameter matching of the baseline).
import { beforeAll, describe, expect, it } from 'vitest';
import { runtimeFor } from './helpers.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { contourImages, contourMaskText } from '../src/data/contours.js';
import { matchedLstmHidden, PixelSegmenter, trainSegment } from '../src/models/segment.js';

describe('contour images', () => {
  it('labels: outline 1, enclosed 2, reachable from the border 0; same seed same images', () => {
    const d = contourImages({ count: 200, rows: 9, cols: 9, seed: 4 });
    const again = contourImages({ count: 200, rows: 9, cols: 9, seed: 4 });
    expect(again.images).toEqual(d.images);
    let inside = 0;
    for (let i = 0; i < d.labels.length; i++) {
      expect(d.labels[i] === 1).toBe(d.images[i] === 1);
      if (d.labels[i] === 2) inside++;
    }
    expect(inside).toBeGreaterThan(0.05 * d.labels.length);
    // Every inside pixel has no off-outline neighbour labelled outside (the fill stopped at outlines).
    const P = 81;
    for (let n = 0; n < 200; n++) {
      for (let p = 0; p < P; p++) {
        if (d.labels[n * P + p] !== 2) continue;
        const r = Math.floor(p / 9), c = p % 9;
        expect(r > 0 && r < 8 && c > 0 && c < 8).toBe(true);
        for (const q of [p - 1, p + 1, p - 9, p + 9]) expect(d.labels[n * P + q]).not.toBe(0);
      }
    }
    expect(contourMaskText(Int32Array.of(0, 1, 2, 0), 2, 2)).toEqual(['.#', 'o.']);
  });

  it('a gap in an outline makes its interior outside', () => {
    // With gapProbability 1 and one shape, nothing is ever enclosed.
    const d = contourImages({ count: 100, rows: 8, cols: 8, seed: 1, maxShapes: 1, gapProbability: 1 });
    expect(d.labels.includes(2)).toBe(false);
    const closed = contourImages({ count: 100, rows: 8, cols: 8, seed: 1, maxShapes: 1, gapProbability: 0 });
    expect(closed.labels.includes(2)).toBe(true);
  });
});

describe('segmentation with an MDLSTM', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor('simd');
  });

  it('the baseline is matched to within 3% of the MDLSTM parameters', () => {
    for (const H of [16, 32, 48]) {
      const md = new PixelSegmenter(rt, { kind: 'mdlstm', rows: 4, cols: 4, numClasses: 3, hiddenSize: H });
      const bi = new PixelSegmenter(rt, { kind: 'bilstm', rows: 4, cols: 4, numClasses: 3, hiddenSize: matchedLstmHidden(H, 1, 3) });
      expect(Math.abs(bi.parameterCount - md.parameterCount) / md.parameterCount).toBeLessThan(0.03);
      md.dispose();
      bi.dispose();
    }
  });

  it('trains a small four-direction MDLSTM to > 97% held-out pixel accuracy (well above the outline-only rule)', async () => {
    const r = await trainSegment(rt, { rows: 8, cols: 8, count: 1200, validationCount: 200, epochs: 4, hiddenSize: 12, compareBaseline: false, progress: false });
    const m = r.metrics as Record<string, number>;
    expect(m.accuracy).toBeGreaterThan(0.97);
    expect(m.insideOutsideAccuracy).toBeGreaterThan(0.96);
    expect(m.accuracy - m.outlineOnlyAccuracy).toBeGreaterThan(0.08);
    expect(r.examples.length).toBe(2 + 8);
    r.model.dispose();
  }, 30_000);
});
