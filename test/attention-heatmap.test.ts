// attentionHeatmapSvg / attentionHeatmapText: structure of the output (one cell per weight,
// every label present and escaped, darker for larger weights) and shape checks.
import { describe, expect, it } from 'vitest';
import { attentionHeatmapSvg, attentionHeatmapText } from '../src/viz/attention-heatmap.js';

const source = ['<s>', 'le', 'chat', '"noir"', 'A&B'];
const target = ['the', 'black', "cat's"];
const weights = { shape: [3, 5], data: Float32Array.from([0.7, 0.1, 0.1, 0.05, 0.05, 0, 0.1, 0.1, 0.8, 0, 0.05, 0.05, 0.9, 0, 0]) };

describe('attention heatmaps', () => {
  it('SVG: Ty*Tx cells, every word once on its axis, escaped, balanced tags', () => {
    const svg = attentionHeatmapSvg(weights, source, target, { title: 'a < b' });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<rect class="cell"/g)?.length).toBe(15);
    expect(svg.match(/<text class="source"/g)?.length).toBe(5);
    expect(svg.match(/<text class="target"/g)?.length).toBe(3);
    for (const [raw, escaped] of [['<s>', '&lt;s&gt;'], ['"noir"', '&quot;noir&quot;'], ['A&B', 'A&amp;B'], ["cat's", 'cat&apos;s'], ['a < b', 'a &lt; b']]) {
      expect(svg).toContain(`>${escaped}</text>`);
      if (raw !== escaped) expect(svg).not.toContain(`>${raw}<`);
    }
    // No raw '<' or '&' inside text content; every opened element closes.
    const text = svg.replace(/<[^>]*>/g, '');
    expect(text).not.toMatch(/[<>]|&(?!(amp|lt|gt|quot|apos);)/);
    for (const tag of ['text', 'rect', 'title']) {
      expect(svg.match(new RegExp(`<${tag}[ >]`, 'g'))?.length, tag).toBe(svg.match(new RegExp(`</${tag}>`, 'g'))?.length);
    }
    // Largest weight darkest: the 0.9 cell (target 2, source 2) is the darkest fill.
    const fills = [...svg.matchAll(/<rect class="cell"[^>]*fill="rgb\((\d+),(\d+),(\d+)\)"/g)].map((m) => Number(m[1]) + Number(m[2]) + Number(m[3]));
    expect(fills.indexOf(Math.min(...fills))).toBe(2 * 5 + 2);
    expect(fills[1 * 5 + 0]).toBe(255 * 3); // weight 0: white
  });

  it('SVG: a white background over the whole picture; a title wider than the map widens the viewBox', () => {
    const viewBox = (svg: string) => svg.match(/viewBox="0 0 ([\d.]+) ([\d.]+)"/)!.slice(1).map(Number);
    const short = attentionHeatmapSvg([[1, 0], [0, 1]], ['x', 'y'], ['p', 'q'], { fontSize: 12 });
    const [w, h] = viewBox(short);
    expect(short).toContain(`<rect class="background" x="0" y="0" width="${w}" height="${h}" fill="#fff"></rect>`);
    // The background comes first, under everything else.
    expect(short.indexOf('class="background"')).toBeLessThan(short.indexOf('<text'));
    const title = "attention of a bahdanau GRU seq2seq on 'Elle est plus grande que son frère.'";
    const long = attentionHeatmapSvg([[1, 0], [0, 1]], ['x', 'y'], ['p', 'q'], { fontSize: 12, title });
    const titleX = Number(long.match(/<text class="title" x="([\d.]+)"/)![1]);
    const [wide] = viewBox(long);
    expect(wide).toBeGreaterThan(w);
    // The title's estimated width: about 0.6 em per character of Latin text in bold sans-serif.
    expect(wide).toBeGreaterThanOrEqual(titleX + title.length * 12 * 0.6);
    expect(long).toContain(`<rect class="background" x="0" y="0" width="${wide}"`);
  });

  it('accepts rows of numbers and [1, Ty, Tx]; rejects a shape that does not match the tokens', () => {
    const rows = [[0.5, 0.5], [1, 0]];
    expect(attentionHeatmapSvg(rows, ['x', 'y'], ['p', 'q']).match(/class="cell"/g)?.length).toBe(4);
    expect(attentionHeatmapSvg({ shape: [1, 2, 2], data: [0.5, 0.5, 1, 0] }, ['x', 'y'], ['p', 'q'])).toContain('class="cell"');
    expect(() => attentionHeatmapSvg(weights, source.slice(1), target)).toThrow(/must be \[targetTokens.length, sourceTokens.length\] = \[3, 4\]/);
    expect(() => attentionHeatmapSvg([[NaN]], ['x'], ['y'])).toThrow(/weights\[0\]\[0\] must be finite/);
  });

  it('text: one line per target word, one shaded cell per source word, the darkest at the maximum', () => {
    const txt = attentionHeatmapText(weights, source, target);
    const lines = txt.split('\n');
    expect(lines.length).toBe(1 + 3 + 1);
    for (let i = 0; i < 3; i++) {
      expect(lines[1 + i].trimStart().startsWith(target[i])).toBe(true);
      const cells = lines[1 + i].split('|')[1];
      expect(cells.length).toBe(5 * 2);
    }
    expect(lines[3].split('|')[1].slice(4, 6)).toBe('@@');
    expect(lines[4]).toBe('0:<s> 1:le 2:chat 3:"noir" 4:A&B');
  });
});
