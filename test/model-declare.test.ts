// Names once (src/train/model.ts): a model that declares its layers by name gets the same
// parameter block, state dict names, values and initialisation draws as the older two-step
// form (a LayerPlan, then binding each layer by hand); withEval restores the mode.
import { beforeAll, describe, expect, it } from 'vitest';
import { runtimeFor } from './helpers.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { Model, type LayerDeclaration } from '../src/train/model.js';
import { Embedding } from '../src/layers/embedding.js';
import { Linear } from '../src/layers/linear.js';
import { GRU } from '../src/layers/gru.js';
import { RecurrentLayer } from '../src/layers/recurrent.js';
import { makeRecurrent, recurrentDeclaration } from '../src/models/common.js';

const e = { numEmbeddings: 7, embeddingDim: 4, paddingIdx: 0 };
const r = { inputSize: 4, hiddenSize: 5, numLayers: 2, bidirectional: true };
const f = { inFeatures: 10, outFeatures: 3 };

/** The older form: the plan names each layer, then each layer is bound under the same name again. */
class Planned extends Model {
  readonly emb: Embedding;
  readonly enc: RecurrentLayer;
  readonly head: Linear;
  constructor(rt: Runtime) {
    super(rt, [
      { prefix: 'emb.', specs: Embedding.parameterSpecs(e) },
      { prefix: 'enc.', specs: GRU.parameterSpecs(r) },
      { prefix: 'head.', specs: Linear.parameterSpecs(f) },
    ], 9);
    this.emb = new Embedding(rt, e, { block: this.params, prefix: 'emb.' });
    this.emb.resetParameters(this.rng);
    this.enc = makeRecurrent(rt, 'gru', r, this.params, 'enc.', this.rng);
    this.head = new Linear(rt, f, { block: this.params, prefix: 'head.' });
    this.head.resetParameters(this.rng);
  }
}

class Declared extends Model<{ emb: Embedding; enc: RecurrentLayer; head: Linear }> {
  constructor(rt: Runtime) {
    super(rt, { emb: Embedding.declare(e), enc: recurrentDeclaration('gru', r), head: Linear.declare(f) }, 9);
  }
}

describe('models declare each layer once', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor('simd');
  });

  it('gives the block, names, values and generator state of the plan-then-bind form', () => {
    const planned = new Planned(rt), declared = new Declared(rt);
    expect(declared.params.names).toEqual(planned.params.names);
    expect(declared.params.names.slice(0, 3)).toEqual(['emb.weight', 'enc.weight_ih_l0', 'enc.weight_hh_l0']);
    expect(declared.params.names.at(-1)).toBe('head.bias');
    expect(declared.params.count).toBe(planned.params.count);
    const a = planned.stateDict(), b = declared.stateDict();
    for (const name of Object.keys(a)) expect(b[name].data, name).toEqual(a[name].data);
    expect(declared.rng.int(1 << 30)).toBe(planned.rng.int(1 << 30));
    expect(declared.layers.emb).toBeInstanceOf(Embedding);
    expect(declared.layers.enc).toBeInstanceOf(RecurrentLayer);
    expect((declared.layers.enc as RecurrentLayer).kind.name).toBe('gru');
    expect(declared.layers.head.block).toBe(declared.params);
    expect(declared.layers.head.prefix).toBe('head.');
    planned.dispose();
    declared.dispose();
  });

  it('takes hand-written declarations, in declaration order', () => {
    const made: string[] = [];
    const probe = (name: string): LayerDeclaration<string> => ({
      specs: [{ name: 'w', shape: [2] }],
      create: (model, prefix) => {
        made.push(prefix);
        expect(model.params.value(prefix + 'w').size).toBe(2);
        return name;
      },
    });
    class Probe extends Model<{ b: string; a: string }> {
      constructor() {
        super(rt, { b: probe('B'), a: probe('A') });
      }
    }
    const m = new Probe();
    expect(made).toEqual(['b.', 'a.']);
    expect(m.params.names).toEqual(['b.w', 'a.w']);
    expect(m.layers).toEqual({ b: 'B', a: 'A' });
    m.dispose();
  });

  it('withEval runs in eval mode and restores the mode, also after a throw', () => {
    const m = new Declared(rt);
    expect(m.training).toBe(true);
    expect(m.withEval(() => m.training)).toBe(false);
    expect(m.training).toBe(true);
    expect(() => m.withEval(() => {
      throw new Error('inside');
    })).toThrow('inside');
    expect(m.training).toBe(true);
    m.eval();
    m.withEval(() => 0);
    expect(m.training).toBe(false);
    m.dispose();
  });
});
