import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import vm from 'node:vm';
import {
  readSafetensors,
  writeSafetensors,
  safetensorsMetadata,
  SafetensorsError,
  type SafetensorsTensor,
} from '../src/io/safetensors.js';
import { loadFixture, listFixtures, FIXTURE_DIR } from './fixtures.js';
import { randomArray } from './helpers.js';

/** Builds a file by hand: header object serialised as given, padded, then the payload bytes. */
function rawFile(header: string, payload: Uint8Array = new Uint8Array(0), declaredLength?: number): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + payload.length);
  const view = new DataView(out.buffer);
  const n = declaredLength ?? json.length;
  view.setUint32(0, n % 0x100000000, true);
  view.setUint32(4, Math.floor(n / 0x100000000), true);
  out.set(json, 8);
  out.set(payload, 8 + json.length);
  return out;
}

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

function expectError(bytes: Uint8Array, pattern: RegExp): void {
  let caught: unknown;
  try {
    readSafetensors(bytes);
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected a SafetensorsError matching ${pattern}`).toBeInstanceOf(SafetensorsError);
  expect((caught as Error).message).toMatch(pattern);
}

function sampleTensors(): Record<string, SafetensorsTensor> {
  return {
    weight: { shape: [3, 7], data: randomArray(21, 1) },
    bias: { shape: [13], data: randomArray(13, 2) },
    scalar: { shape: [], data: new Float32Array([-0.5]) },
    ids: { shape: [2, 3], data: new Int32Array([0, -1, 2147483647, -2147483648, 5, 17]) },
    odd: { shape: [1], data: new Float32Array([NaN]) },
  };
}

describe('safetensors round trip', () => {
  it('writes a header padded to a multiple of 8 with offsets in order, and reads back bit-identical data', () => {
    const tensors = sampleTensors();
    const bytes = writeSafetensors(tensors, { kind: 'test', note: 'héllo "quoted"' });
    const n = new DataView(bytes.buffer).getUint32(0, true);
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(Object.keys(header)).toEqual(['__metadata__', 'weight', 'bias', 'scalar', 'ids', 'odd']);
    expect(header.weight).toEqual({ dtype: 'F32', shape: [3, 7], data_offsets: [0, 84] });
    expect(header.bias.data_offsets).toEqual([84, 136]);
    expect(header.ids.dtype).toBe('I32');
    expect(bytes.length).toBe(8 + n + 4 * (21 + 13 + 1 + 6 + 1));

    const back = readSafetensors(bytes);
    expect(Object.keys(back)).toEqual(['weight', 'bias', 'scalar', 'ids', 'odd']);
    expect(back.__metadata__).toEqual({ kind: 'test', note: 'héllo "quoted"' });
    expect(safetensorsMetadata(back)).toBe(back.__metadata__);
    for (const [name, t] of Object.entries(tensors)) {
      expect(back[name].shape).toEqual(t.shape);
      expect(back[name].data.constructor).toBe(t.data.constructor);
      // Compare bit patterns (NaN included).
      expect(new Uint8Array(back[name].data.buffer)).toEqual(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
    expect(writeSafetensors(back)).toEqual(bytes);
  });

  it('reproduces every golden fixture byte for byte and agrees with its header', () => {
    const names = listFixtures();
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      const original = new Uint8Array(readFileSync(join(FIXTURE_DIR, `${name}.safetensors`)));
      const file = readSafetensors(original);
      expect(Buffer.from(writeSafetensors(file)).equals(Buffer.from(original)), name).toBe(true);
      // Independent check of one payload through a DataView at the header's offset.
      const n = new DataView(original.buffer).getUint32(0, true);
      const header = JSON.parse(new TextDecoder().decode(original.subarray(8, 8 + n)));
      const first = Object.keys(header).find((k) => k !== '__metadata__')!;
      const begin = 8 + n + header[first].data_offsets[0];
      const dv = new DataView(original.buffer, original.byteOffset);
      const t = file[first];
      for (let i = 0; i < t.data.length; i++) {
        const want = header[first].dtype === 'F32' ? dv.getFloat32(begin + 4 * i, true) : dv.getInt32(begin + 4 * i, true);
        expect(Object.is(t.data[i], want)).toBe(true);
      }
    }
  });

  it('loadFixture parses the config and exposes tensors by name', () => {
    const f = loadFixture<{ mode: string; hiddenSize: number; batchFirst: boolean; batch: number; seqLen: number; inputSize: number }>(
      'rnn_007_lstm_L1_uni_bias_bf_len',
    );
    expect(f.kind).toBe('rnn');
    expect(f.config.mode).toBe('LSTM');
    expect(f.config.batchFirst).toBe(true);
    expect(f.tensor('x').shape).toEqual([f.config.batch, f.config.seqLen, f.config.inputSize]);
    expect(f.tensor('model.weight_ih_l0').shape).toEqual([4 * f.config.hiddenSize, f.config.inputSize]);
    expect(f.tensor('lengths').data).toBeInstanceOf(Int32Array);
    expect(f.has('c0')).toBe(true);
    expect(() => f.tensor('nope')).toThrow(/has no tensor "nope"/);
    expect(() => loadFixture('does_not_exist')).toThrow(/does not exist/);
  });

  it('accepts an ArrayBuffer, a Uint8Array at an unaligned offset, and copies the data', () => {
    const bytes = writeSafetensors({ a: { shape: [3], data: new Float32Array([1, 2, 3]) } });
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const view = shifted.subarray(1);
    const file = readSafetensors(view);
    expect(Array.from(file.a.data)).toEqual([1, 2, 3]);
    shifted.fill(0);
    expect(Array.from(file.a.data)).toEqual([1, 2, 3]);
    expect(Array.from(readSafetensors(bytes.slice().buffer).a.data)).toEqual([1, 2, 3]);
    // Arrays from another realm (worker, vm context) fail instanceof but are accepted.
    const foreign = vm.runInNewContext('(b) => new Uint8Array(b)')(bytes.slice().buffer) as Uint8Array;
    expect(foreign instanceof Uint8Array).toBe(false);
    expect(Array.from(readSafetensors(foreign).a.data)).toEqual([1, 2, 3]);
    const foreignF32 = vm.runInNewContext('new Float32Array([4, 5])') as Float32Array;
    expect(Array.from(readSafetensors(writeSafetensors({ f: { shape: [2], data: foreignF32 } })).f.data)).toEqual([4, 5]);
  });

  it('reads payloads at unaligned offsets (foreign files) and empty tensors', () => {
    const payload = new Uint8Array(8); // U8[3], then an F32 at the unaligned offset 3, then U8[1]
    const header = JSON.stringify({
      small: { dtype: 'U8', shape: [3], data_offsets: [0, 3] },
      f: { dtype: 'F32', shape: [1], data_offsets: [3, 7] },
      empty: { dtype: 'F32', shape: [0, 5], data_offsets: [7, 7] },
      tail: { dtype: 'U8', shape: [1], data_offsets: [7, 8] },
    });
    payload.set([1, 2, 3], 0);
    new DataView(payload.buffer).setFloat32(3, 1.5, true);
    payload[7] = 200;
    const file = readSafetensors(rawFile(header, payload));
    expect(Array.from(file.small.data)).toEqual([1, 2, 3]);
    expect(file.small.data).toBeInstanceOf(Int32Array);
    expect(Array.from(file.f.data)).toEqual([1.5]);
    expect(file.empty.shape).toEqual([0, 5]);
    expect(file.empty.data.length).toBe(0);
    expect(Array.from(file.tail.data)).toEqual([200]);
  });

  it('converts F64, F16, BF16, I64 and friends on read, and refuses int64 values outside int32', () => {
    const buf = new ArrayBuffer(8 * 2 + 2 * 3 + 2 * 2 + 8 * 2 + 1 * 2 + 2);
    const dv = new DataView(buf);
    let o = 0;
    dv.setFloat64(o, Math.PI, true); dv.setFloat64(o + 8, -1e-3, true); o += 16;
    dv.setUint16(o, 0x3c00, true); dv.setUint16(o + 2, 0xc000, true); dv.setUint16(o + 4, 0x0001, true); o += 6; // 1, -2, 2^-24
    dv.setUint16(o, 0x3fc0, true); dv.setUint16(o + 2, 0xff80, true); o += 4; // 1.5, -inf
    dv.setBigInt64(o, -5n, true); dv.setBigInt64(o + 8, 2147483647n, true); o += 16;
    dv.setUint8(o, 0); dv.setUint8(o + 1, 1); o += 2;
    dv.setInt16(o, -300, true); o += 2;
    const header = {
      d: { dtype: 'F64', shape: [2], data_offsets: [0, 16] },
      h: { dtype: 'F16', shape: [3], data_offsets: [16, 22] },
      b: { dtype: 'BF16', shape: [2], data_offsets: [22, 26] },
      l: { dtype: 'I64', shape: [2], data_offsets: [26, 42] },
      m: { dtype: 'BOOL', shape: [2], data_offsets: [42, 44] },
      s: { dtype: 'I16', shape: [1], data_offsets: [44, 46] },
    };
    const file = readSafetensors(rawFile(JSON.stringify(header), new Uint8Array(buf)));
    expect(Array.from(file.d.data)).toEqual([Math.fround(Math.PI), Math.fround(-1e-3)]);
    expect(Array.from(file.h.data)).toEqual([1, -2, 2 ** -24]);
    expect(Array.from(file.b.data)).toEqual([1.5, -Infinity]);
    expect(Array.from(file.l.data)).toEqual([-5, 2147483647]);
    expect(file.l.data).toBeInstanceOf(Int32Array);
    expect(Array.from(file.m.data)).toEqual([0, 1]);
    expect(Array.from(file.s.data)).toEqual([-300]);

    const big = new ArrayBuffer(8);
    new DataView(big).setBigInt64(0, 2n ** 40n, true);
    expectError(rawFile(JSON.stringify({ l: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }), new Uint8Array(big)), /"l".*does not fit in int32/);
    expectError(rawFile(JSON.stringify({ m: { dtype: 'BOOL', shape: [1], data_offsets: [0, 1] } }), new Uint8Array([2])), /"m".*BOOL/);
  });

  it('writer rejects bad arguments clearly', () => {
    expect(() => writeSafetensors({ a: { shape: [2, 2], data: new Float32Array(3) } })).toThrow(/"a".*4 elements but data has 3/);
    expect(() => writeSafetensors({ a: { shape: [-1], data: new Float32Array(0) } })).toThrow(/"a".*shape\[0\]/);
    expect(() => writeSafetensors({ a: { shape: [2], data: new Float64Array(2) as unknown as Float32Array } })).toThrow(/Float64Array/);
    expect(() => writeSafetensors({ a: { shape: [1], data: new Float32Array(1) } }, { n: 3 as unknown as string })).toThrow(/metadata "n" must be a string/);
    expect(() => writeSafetensors({ '': { shape: [1], data: new Float32Array(1) } })).toThrow(/empty name/);
    expect(() => writeSafetensors(null as unknown as Record<string, SafetensorsTensor>)).toThrow(SafetensorsError);
  });

  it('keeps a tensor named __proto__ as a plain own property', () => {
    const header = '{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const file = readSafetensors(rawFile(header, f32Bytes([2])));
    expect(Object.getPrototypeOf(file)).toBe(Object.prototype);
    expect(Object.keys(file)).toEqual(['__proto__']);
    expect(Array.from(Object.getOwnPropertyDescriptor(file, '__proto__')!.value.data)).toEqual([2]);
  });
});

describe('safetensors: malformed files get a SafetensorsError', () => {
  const good = writeSafetensors(sampleTensors(), { kind: 'test' });
  const t1 = (extra: Record<string, unknown>) => JSON.stringify({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8], ...extra } });

  it('truncated at every cut point', () => {
    for (let cut = 0; cut < good.length; cut++) {
      expect(() => readSafetensors(good.subarray(0, cut)), `cut at ${cut}`).toThrow(SafetensorsError);
    }
    expectError(good.subarray(0, 5), /shorter than the 8-byte/);
    expectError(good.subarray(0, 40), /runs past the end of the file/);
    expectError(good.subarray(0, good.length - 1), /run past the payload area|trailing|cover only/);
  });

  it('lying header lengths', () => {
    expectError(rawFile(t1({}), f32Bytes([1, 2]), 2 ** 40), /exceeds the limit/);
    expectError(rawFile(t1({}), f32Bytes([1, 2]), 2 ** 60), /absurdly large/);
    expectError(rawFile(t1({}), f32Bytes([1, 2]), 1000), /runs past the end/);
    expectError(rawFile(t1({}), f32Bytes([1, 2]), 10), /not valid JSON/);
    expectError(rawFile(t1({}), f32Bytes([1, 2]), 0), /too small/);
    // Declares 8 fewer bytes: the JSON is cut short.
    const h = t1({});
    expectError(rawFile(h, f32Bytes([1, 2]), h.length - 8), /not valid JSON/);
  });

  it('header not UTF-8, not JSON, not an object', () => {
    const bad = rawFile('{"a":1}');
    bad[9] = 0xff;
    expectError(bad, /not valid UTF-8/);
    expectError(rawFile('[1,2,3]'), /does not start with "\{"/);
    expectError(rawFile('{"a": }'), /not valid JSON/);
    expectError(rawFile('{"a":1,}'), /not valid JSON/);
    expectError(rawFile("{'a':1}"), /not valid JSON/);
    expectError(rawFile('{"a":1} x'), /after the JSON value/);
    expectError(rawFile('{"a":"\u0001"}'), /control character/);
    expectError(rawFile('{"a":"\\q"}'), /bad escape/);
    expectError(rawFile('{"a":"abc'), /unterminated/);
    expectError(rawFile('{' + '"a":['.repeat(1) + '['.repeat(100) + ']'.repeat(100) + ']}'), /nesting deeper/);
    expectError(rawFile('{"a":1}'), /"a": entry is not an object/);
  });

  it('accepts space, tab and newline padding after the header', () => {
    const file = readSafetensors(rawFile(t1({}) + ' \n\t ', f32Bytes([1, 2])));
    expect(Array.from(file.a.data)).toEqual([1, 2]);
  });

  it('unknown or missing dtypes and fields', () => {
    expectError(rawFile(t1({ dtype: 'F8_E4M3' }), f32Bytes([1, 2])), /"a": dtype "F8_E4M3" is not supported/);
    expectError(rawFile(t1({ dtype: 'toString' }), f32Bytes([1, 2])), /not supported/);
    expectError(rawFile(t1({ dtype: 7 }), f32Bytes([1, 2])), /"a": dtype is missing/);
    expectError(rawFile(JSON.stringify({ a: { shape: [2], data_offsets: [0, 8] } }), f32Bytes([1, 2])), /dtype is missing/);
    expectError(rawFile(t1({ extra: 1 }), f32Bytes([1, 2])), /"a": unexpected field "extra"/);
    expectError(rawFile(t1({ shape: 'x' }), f32Bytes([1, 2])), /"a": shape is missing or not an array/);
    expectError(rawFile(t1({ data_offsets: [0] }), f32Bytes([1, 2])), /"a": data_offsets must be/);
  });

  it('shapes that do not match the byte range, huge or invalid shapes', () => {
    expectError(rawFile(t1({ shape: [3] }), f32Bytes([1, 2])), /"a".*needs more bytes/);
    expectError(rawFile(t1({ shape: [1] }), f32Bytes([1, 2])), /"a".*needs 4 bytes but data_offsets \[0, 8\] span 8/);
    expectError(rawFile(t1({ shape: [2 ** 53] }), f32Bytes([1, 2])), /"a": shape\[0\].*safe integer/);
    expectError(rawFile(t1({ shape: [2 ** 26, 2 ** 26, 2 ** 26] }), f32Bytes([1, 2])), /"a".*needs more bytes/);
    expectError(rawFile(t1({ shape: [-2] }), f32Bytes([1, 2])), /"a": shape\[0\] = -2/);
    expectError(rawFile(t1({ shape: [1.5] }), f32Bytes([1, 2])), /"a": shape\[0\] = 1.5/);
    expectError(rawFile(t1({ shape: ['2'] }), f32Bytes([1, 2])), /"a": shape\[0\] = 2 is not/);
    expectError(rawFile(t1({ shape: [777] }).replace('777', '1e400'), f32Bytes([1, 2])), /"a": shape\[0\] = Infinity/);
  });

  it('negative, non-integer, reversed or out-of-range offsets', () => {
    expectError(rawFile(t1({ data_offsets: [-8, 0] }), f32Bytes([1, 2])), /"a": data_offsets begin = -8/);
    expectError(rawFile(t1({ data_offsets: [0, 7.5] }), f32Bytes([1, 2])), /"a": data_offsets end = 7.5/);
    expectError(rawFile(t1({ data_offsets: [0, '8'] }), f32Bytes([1, 2])), /"a": data_offsets end/);
    expectError(rawFile(t1({ data_offsets: [8, 0] }), f32Bytes([1, 2])), /"a".*end before begin/);
    expectError(rawFile(t1({ data_offsets: [8, 16] }), f32Bytes([1, 2])), /"a".*run past the payload area/);
    expectError(rawFile(t1({ data_offsets: [0, 2 ** 60] }), f32Bytes([1, 2])), /"a".*data_offsets end/);
  });

  it('overlaps, gaps and trailing bytes', () => {
    const two = (a: number[], b: number[]) =>
      JSON.stringify({
        a: { dtype: 'F32', shape: [1], data_offsets: a },
        b: { dtype: 'F32', shape: [1], data_offsets: b },
      });
    expectError(rawFile(two([0, 4], [0, 4]), f32Bytes([1, 2])), /overlap tensor "a"/);
    expectError(rawFile(two([0, 4], [2, 6]), f32Bytes([1, 2])), /"b".*overlap/);
    expectError(rawFile(two([0, 4], [8, 12]), f32Bytes([1, 2, 3])), /"b": gap of 4 unused bytes/);
    expectError(rawFile(two([4, 8], [8, 12]), f32Bytes([1, 2, 3])), /"a": gap of 4/);
    expectError(rawFile(two([0, 4], [4, 8]), f32Bytes([1, 2, 3])), /trailing bytes/);
    // Out of order in the header but tiling the area: fine.
    const file = readSafetensors(rawFile(two([4, 8], [0, 4]), f32Bytes([1, 2])));
    expect([file.a.data[0], file.b.data[0]]).toEqual([2, 1]);
  });

  it('duplicate keys and bad metadata', () => {
    const dup = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
    expectError(rawFile(dup, f32Bytes([1, 2])), /duplicate key "a"/);
    expectError(rawFile('{"a":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}}', f32Bytes([1])), /duplicate key "dtype"/);
    expectError(rawFile('{"__metadata__":{"k":1}}'), /__metadata__ "k" is a number, but metadata values must be strings/);
    expectError(rawFile('{"__metadata__":{"k":{"x":"y"}}}'), /__metadata__ "k" is an object/);
    expectError(rawFile('{"__metadata__":["x"]}'), /__metadata__ is not an object/);
    expectError(rawFile('{"__metadata__":{"k":"v"},"__metadata__":{}}'), /duplicate key "__metadata__"/);
    const ok = readSafetensors(rawFile('{"__metadata__":{"k":"v"}}'));
    expect(Object.keys(ok)).toEqual([]);
    expect(ok.__metadata__).toEqual({ k: 'v' });
    expect(readSafetensors(rawFile('{}')).__metadata__).toEqual({});
  });

  it('rejects non-byte inputs', () => {
    expect(() => readSafetensors('abc' as unknown as Uint8Array)).toThrow(/expected a Uint8Array or ArrayBuffer, got string/);
    expect(() => readSafetensors(null as unknown as Uint8Array)).toThrow(SafetensorsError);
  });

  it('fuzz: random byte flips either parse or throw SafetensorsError, in bounded time', () => {
    const golden = readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.safetensors'));
    const sources = [good, ...golden.map((f) => new Uint8Array(readFileSync(join(FIXTURE_DIR, f))))];
    let seed = 12345;
    const rand = () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 4294967296;
    };
    const start = Date.now();
    let parsed = 0;
    let rejected = 0;
    for (let iter = 0; iter < 3000; iter++) {
      const src = sources[iter % sources.length];
      const bytes = src.slice();
      const headerEnd = 8 + new DataView(src.buffer, src.byteOffset).getUint32(0, true);
      const flips = 1 + Math.floor(rand() * 4);
      for (let f = 0; f < flips; f++) {
        // Mostly in the length field and header, where the structure lives.
        const pos = rand() < 0.9 ? Math.floor(rand() * headerEnd) : Math.floor(rand() * bytes.length);
        bytes[pos] = rand() < 0.5 ? bytes[pos] ^ (1 << Math.floor(rand() * 8)) : Math.floor(rand() * 256);
      }
      try {
        const file = readSafetensors(bytes);
        for (const t of Object.values<SafetensorsTensor>(file)) expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
        parsed++;
      } catch (e) {
        if (!(e instanceof SafetensorsError)) throw new Error(`iteration ${iter}: non-SafetensorsError ${String(e)}`);
        rejected++;
      }
    }
    expect(parsed + rejected).toBe(3000);
    expect(rejected).toBeGreaterThan(100);
    expect(Date.now() - start).toBeLessThan(30_000);
  });

  it('fuzz: structured header edits (valid JSON, lying fields) parse consistently or throw SafetensorsError', () => {
    const base = writeSafetensors(sampleTensors(), { kind: 'test' });
    const n = new DataView(base.buffer).getUint32(0, true);
    const header = JSON.parse(new TextDecoder().decode(base.subarray(8, 8 + n)));
    const payload = base.subarray(8 + n);
    const values: unknown[] = [-1, 0, 1, 3, 4, 7.5, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e308, -0, '4', null, [], {}, true, [0, 4], [4, 0], [1, 2, 3]];
    const dtypes = ['F32', 'I32', 'F64', 'F16', 'BF16', 'I64', 'U8', 'BOOL', 'F8_E5M2', 'f32', ''];
    let seed = 99;
    const rand = (k: number) => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return Math.floor((seed / 4294967296) * k);
    };
    let parsed = 0;
    for (let iter = 0; iter < 2000; iter++) {
      const h = JSON.parse(JSON.stringify(header));
      const names = Object.keys(h).filter((k) => k !== '__metadata__');
      for (let e = 0; e <= rand(3); e++) {
        const entry = h[names[rand(names.length)]];
        const op = rand(7);
        // Edits of a field an earlier edit deleted or replaced are skipped.
        if ((op === 1 && !Array.isArray(entry.shape)) || ((op === 2 || op === 6) && !Array.isArray(entry.data_offsets))) continue;
        switch (op) {
          case 0: entry.dtype = dtypes[rand(dtypes.length)]; break;
          case 1: entry.shape = entry.shape.length && rand(2) ? entry.shape.map((d: number) => (rand(3) ? d : values[rand(values.length)])) : [...entry.shape, values[rand(values.length)]]; break;
          case 2: entry.data_offsets[rand(2)] = values[rand(values.length)]; break;
          case 3: entry.data_offsets = structuredClone(h[names[rand(names.length)]].data_offsets); break;
          case 4: delete entry[['dtype', 'shape', 'data_offsets'][rand(3)]]; break;
          case 5: h.__metadata__[`k${rand(3)}`] = values[rand(values.length)]; break;
          default: entry.data_offsets = entry.data_offsets.map((o: number) => o + (rand(3) - 1) * 4); break;
        }
      }
      const bytes = rawFile(JSON.stringify(h), payload);
      try {
        const file = readSafetensors(bytes);
        let total = 0;
        for (const t of Object.values<SafetensorsTensor>(file)) {
          expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
          total += t.data.length;
        }
        expect(total).toBeGreaterThanOrEqual(0);
        parsed++;
      } catch (e) {
        if (!(e instanceof SafetensorsError)) throw new Error(`iteration ${iter}: non-SafetensorsError ${String(e)}`);
      }
    }
    // Some edits are harmless (e.g. metadata strings, F32<->I32 swaps); most are caught.
    expect(parsed).toBeGreaterThan(0);
    expect(parsed).toBeLessThan(2000);
  });
});
