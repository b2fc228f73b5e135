// The 8 PyTorch golden MDLSTM cases (/work/shared/golden/FORMAT.md §9) through the public
// contract: h, c and every gradient within 1e-4·max(1,|ref|); the exact zeros of the
// degenerate grids (one row: f_row rows and row-predecessor columns; one column likewise).
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILDS, maxRelError, runtimeFor } from './helpers.js';
import { listFixtures, loadFixture } from './fixtures.js';
import type { Runtime } from '../src/runtime/runtime.js';
import type { HostTensor } from '../src/runtime/tensor.js';
import { MDLSTM } from '../src/index.js';

interface MdlstmConfig { batch: number; rows: number; cols: number; inputSize: number; hiddenSize: number; direction: number; bias: boolean }

const CASES = listFixtures('mdlstm_');
const TOL = 1e-4;
const f32 = (t: { shape: number[]; data: Float32Array | Int32Array }): HostTensor => ({ shape: t.shape, data: t.data as Float32Array });

it('all 8 golden mdlstm cases are present', () => {
  expect(CASES.length).toBe(8);
});

describe.each(BUILDS)('golden mdlstm cases (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  for (const cellByCell of [false, true]) {
    it.each(CASES)(`%s${cellByCell ? ' (cell by cell)' : ''}`, (name) => {
      const fx = loadFixture<MdlstmConfig>(name);
      const c = fx.config;
      const k = c.direction;
      const md = new MDLSTM(rt, { inputSize: c.inputSize, hiddenSize: c.hiddenSize, bias: c.bias, directions: [k], merge: 'concat', cellByCell, seed: 1 });
      const dict: Record<string, HostTensor> = {
        [`weight_ih_d${k}`]: f32(fx.tensor('param.weight_ih')),
        [`weight_hh_d${k}`]: f32(fx.tensor('param.weight_hh')),
      };
      if (c.bias) dict[`bias_d${k}`] = f32(fx.tensor('param.bias'));
      md.loadStateDict(dict);
      const { output, cell } = md.forward(f32(fx.tensor('x')));
      const check = (what: string, got: HostTensor | undefined, refName: string) => {
        const ref = fx.tensor(refName);
        expect(got, what).toBeDefined();
        expect(got!.shape, `${what} shape`).toEqual(ref.shape);
        expect(maxRelError(got!.data, ref.data), `${what} max error`).toBeLessThanOrEqual(TOL);
      };
      check('h', output, 'h');
      check('c', cell, 'c');
      const { dx } = md.backward({ dOutput: f32(fx.tensor('d_h')), dCell: f32(fx.tensor('d_c')) });
      check('grad.x', dx, 'grad.x');
      const grads = md.gradients();
      check('grad.weight_ih', grads[`weight_ih_d${k}`], 'grad.param.weight_ih');
      check('grad.weight_hh', grads[`weight_hh_d${k}`], 'grad.param.weight_hh');
      if (c.bias) check('grad.bias', grads[`bias_d${k}`], 'grad.param.bias');
      // Exact zeros of degenerate grids.
      const H = c.hiddenSize, I = c.inputSize;
      const zeroRows = (gate: number, t: HostTensor, cols: number) => {
        for (let r = gate * H; r < (gate + 1) * H; r++) for (let j = 0; j < cols; j++) expect(t.data[r * cols + j]).toBe(0);
      };
      const zeroCols = (t: HostTensor, from: number) => {
        for (let r = 0; r < 5 * H; r++) for (let j = from; j < from + H; j++) expect(t.data[r * 2 * H + j]).toBe(0);
      };
      for (const [degenerate, gate, col] of [[c.rows === 1, 1, 0], [c.cols === 1, 2, H]] as const) {
        if (!degenerate) continue;
        zeroRows(gate, grads[`weight_ih_d${k}`], I);
        zeroRows(gate, grads[`weight_hh_d${k}`], 2 * H);
        if (c.bias) zeroRows(gate, grads[`bias_d${k}`], 1);
        zeroCols(grads[`weight_hh_d${k}`], col);
      }
      md.dispose();
    });
  }
});
