// safetensors reader and writer (https://github.com/huggingface/safetensors, format section).
//
//   [8 bytes]  N, unsigned 64-bit little-endian: the header length
//   [N bytes]  UTF-8 JSON object, right-padded with spaces
//   [rest]     payloads, little-endian, row-major, contiguous, addressed by data_offsets
//              relative to byte 8+N
//
// Every input is treated as hostile: all sizes are checked against the file before anything
// proportional to them is allocated, and every problem becomes a SafetensorsError that names
// the tensor and what is wrong. Nothing here is Node-specific.

/** A tensor as the library exchanges it: row-major data plus its shape. */
export interface SafetensorsTensor {
  shape: number[];
  data: Float32Array | Int32Array;
}

/**
 * The result of readSafetensors: tensor name -> tensor. The header's `__metadata__`
 * (string -> string, `{}` when the file has none) is an own NON-enumerable property, so
 * `Object.keys`, `Object.entries` and `for...in` list tensors only, while
 * `file.__metadata__` (or `safetensorsMetadata(file)`) reads it. `file[name]` is typed as a
 * tensor; for Object.values/entries pass the type: `Object.entries<SafetensorsTensor>(file)`.
 */
export type SafetensorsFile = Record<string, SafetensorsTensor> & {
  readonly __metadata__: Record<string, string>;
};

/** Thrown for every malformed file and every invalid argument of the writer. */
export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

/** Largest header accepted, as in the reference implementation (100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = '__metadata__';

/** Storage of each dtype in the file and what it becomes when read. */
interface DTypeInfo {
  itemSize: number;
  target: 'F32' | 'I32';
}
/** Read: F32 and I32 as they are; others widened or narrowed to them, exactly where possible. */
const READ_DTYPES: Record<string, DTypeInfo> = {
  F32: { itemSize: 4, target: 'F32' },
  I32: { itemSize: 4, target: 'I32' },
  F64: { itemSize: 8, target: 'F32' }, // rounded to nearest float32
  F16: { itemSize: 2, target: 'F32' }, // exact
  BF16: { itemSize: 2, target: 'F32' }, // exact
  I64: { itemSize: 8, target: 'I32' }, // refused when a value is outside int32
  U32: { itemSize: 4, target: 'I32' }, // refused when a value is outside int32
  I16: { itemSize: 2, target: 'I32' },
  U16: { itemSize: 2, target: 'I32' },
  I8: { itemSize: 1, target: 'I32' },
  U8: { itemSize: 1, target: 'I32' },
  BOOL: { itemSize: 1, target: 'I32' },
};

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The metadata of a file returned by readSafetensors (an empty object when it had none). */
export function safetensorsMetadata(file: Record<string, SafetensorsTensor>): Record<string, string> {
  const meta = (file as { [METADATA_KEY]?: unknown })[METADATA_KEY];
  return meta !== null && typeof meta === 'object' ? (meta as Record<string, string>) : {};
}

/**
 * A JSON object stored in a model file's metadata (options, vocabularies); `file` names the
 * kind of file in the errors ("Seq2Seq model file"). Missing, unparsable or not an object: a
 * clear Error naming the key.
 */
export function metadataObject(meta: Record<string, string>, key: string, file: string): Record<string, unknown> {
  const text = meta[key];
  if (typeof text !== 'string') throw new Error(`${file}: metadata '${key}' is missing`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: metadata '${key}' is not valid JSON (${(e as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${file}: metadata '${key}' must be a JSON object, got ${JSON.stringify(text.slice(0, 40))}`);
  }
  return value as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------
// Reading

export function readSafetensors(input: Uint8Array | ArrayBuffer): SafetensorsFile {
  let bytes: Uint8Array;
  // Tags rather than instanceof, so arrays from another realm (worker, vm, iframe) work too.
  const tag = tagOf(input);
  if (tag === 'Uint8Array') bytes = input as Uint8Array;
  else if (tag === 'ArrayBuffer' || tag === 'SharedArrayBuffer') bytes = new Uint8Array(input as ArrayBuffer);
  else throw new SafetensorsError(`readSafetensors: expected a Uint8Array or ArrayBuffer, got ${typeName(input)}`);

  if (bytes.length < 8) {
    throw new SafetensorsError(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenLow = view.getUint32(0, true);
  const lenHigh = view.getUint32(4, true);
  // 2^21 * 2^32 = 2^53: anything above cannot be a real length anyway.
  if (lenHigh >= 0x200000) throw new SafetensorsError(`header length ${lenHigh} * 2^32 + ${lenLow} is absurdly large`);
  const headerLength = lenHigh * 0x100000000 + lenLow;
  if (headerLength > MAX_HEADER_BYTES) {
    throw new SafetensorsError(`header length ${headerLength} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  if (headerLength > bytes.length - 8) {
    throw new SafetensorsError(
      `header length ${headerLength} runs past the end of the file (${bytes.length - 8} bytes after the length field): truncated file?`,
    );
  }
  if (headerLength < 2) throw new SafetensorsError(`header length ${headerLength} is too small for a JSON object`);

  let headerText: string;
  try {
    headerText = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    throw new SafetensorsError('header is not valid UTF-8');
  }
  if (headerText.charCodeAt(0) !== 0x7b) throw new SafetensorsError('header does not start with "{": not a safetensors file');
  const header = parseStrictJson(headerText);
  if (!(header instanceof Map)) throw new SafetensorsError('header is not a JSON object');

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;

  interface Entry {
    name: string;
    info: DTypeInfo;
    dtype: string;
    shape: number[];
    count: number;
    begin: number;
    end: number;
  }
  const entries: Entry[] = [];
  let metadata: Record<string, string> = {};

  for (const [name, value] of header) {
    if (name === METADATA_KEY) {
      metadata = readMetadata(value);
      continue;
    }
    const where = `tensor "${name}"`;
    if (name.length === 0) throw new SafetensorsError('a tensor has an empty name');
    if (!(value instanceof Map)) throw new SafetensorsError(`${where}: entry is not an object`);
    for (const key of value.keys()) {
      if (key !== 'dtype' && key !== 'shape' && key !== 'data_offsets') {
        throw new SafetensorsError(`${where}: unexpected field "${key}"`);
      }
    }
    const dtype = value.get('dtype');
    if (typeof dtype !== 'string') throw new SafetensorsError(`${where}: dtype is missing or not a string`);
    if (!Object.prototype.hasOwnProperty.call(READ_DTYPES, dtype)) {
      throw new SafetensorsError(
        `${where}: dtype "${dtype}" is not supported (readable: ${Object.keys(READ_DTYPES).join(', ')})`,
      );
    }
    const info = READ_DTYPES[dtype];

    const shapeValue = value.get('shape');
    if (!Array.isArray(shapeValue)) throw new SafetensorsError(`${where}: shape is missing or not an array`);
    let count = 1;
    const shape: number[] = [];
    for (let i = 0; i < shapeValue.length; i++) {
      const d = shapeValue[i];
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
        throw new SafetensorsError(`${where}: shape[${i}] = ${String(d)} is not a non-negative safe integer`);
      }
      count *= d;
      // Checked at every step so the product stays exact; a valid count can't exceed the payload.
      if (count * info.itemSize > dataLength) {
        throw new SafetensorsError(
          `${where}: shape [${shapeValue.join(', ')}] needs more bytes than the ${dataLength}-byte payload area holds`,
        );
      }
      shape.push(d);
    }

    const offsets = value.get('data_offsets');
    if (!Array.isArray(offsets) || offsets.length !== 2) {
      throw new SafetensorsError(`${where}: data_offsets must be an array [begin, end]`);
    }
    const begin = checkOffset(where, 'begin', offsets[0]);
    const end = checkOffset(where, 'end', offsets[1]);
    if (end < begin) throw new SafetensorsError(`${where}: data_offsets [${begin}, ${end}] end before begin`);
    if (end > dataLength) {
      throw new SafetensorsError(
        `${where}: data_offsets [${begin}, ${end}] run past the payload area of ${dataLength} bytes: truncated file?`,
      );
    }
    if (end - begin !== count * info.itemSize) {
      throw new SafetensorsError(
        `${where}: shape [${shape.join(', ')}] of ${dtype} needs ${count * info.itemSize} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    entries.push({ name, info, dtype, shape, count, begin, end });
  }

  // The payload area must be tiled exactly: no overlap, no gap, nothing left over.
  const byOffset = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous = '';
  for (const e of byOffset) {
    if (e.begin < cursor) {
      throw new SafetensorsError(`tensor "${e.name}": data_offsets [${e.begin}, ${e.end}] overlap tensor "${previous}" (ends at ${cursor})`);
    }
    if (e.begin > cursor) {
      throw new SafetensorsError(`tensor "${e.name}": gap of ${e.begin - cursor} unused bytes before data_offsets begin ${e.begin}`);
    }
    cursor = e.end;
    previous = e.name;
  }
  if (cursor !== dataLength) {
    throw new SafetensorsError(`payload area is ${dataLength} bytes but the tensors cover only ${cursor}: trailing bytes`);
  }

  const result = {} as SafetensorsFile;
  for (const e of entries) {
    const data = decodePayload(e.name, e.dtype, e.info, e.count, bytes, dataStart + e.begin, view);
    // defineProperty: a tensor named "__proto__" must stay an ordinary own property.
    Object.defineProperty(result, e.name, { value: { shape: e.shape, data }, enumerable: true, writable: true, configurable: true });
  }
  Object.defineProperty(result, METADATA_KEY, { value: metadata, enumerable: false, writable: true, configurable: true });
  return result;
}

function checkOffset(where: string, label: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new SafetensorsError(`${where}: data_offsets ${label} = ${String(v)} is not a non-negative integer`);
  }
  return v;
}

function readMetadata(value: unknown): Record<string, string> {
  if (!(value instanceof Map)) throw new SafetensorsError('__metadata__ is not an object');
  const out: Record<string, string> = {};
  for (const [key, v] of value) {
    if (typeof v !== 'string') {
      throw new SafetensorsError(`__metadata__ "${key}" is ${jsonTypeName(v)}, but metadata values must be strings`);
    }
    Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Copies (never views) the payload, so unaligned offsets and later reuse of the input are safe. */
function decodePayload(
  name: string,
  dtype: string,
  info: DTypeInfo,
  count: number,
  bytes: Uint8Array,
  start: number,
  view: DataView,
): Float32Array | Int32Array {
  if ((dtype === 'F32' || dtype === 'I32') && LITTLE_ENDIAN) {
    const out = dtype === 'F32' ? new Float32Array(count) : new Int32Array(count);
    new Uint8Array(out.buffer).set(bytes.subarray(start, start + count * 4));
    return out;
  }
  if (info.target === 'F32') {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      const p = start + i * info.itemSize;
      switch (dtype) {
        case 'F32': out[i] = view.getFloat32(p, true); break;
        case 'F64': out[i] = view.getFloat64(p, true); break;
        case 'F16': out[i] = halfToFloat(view.getUint16(p, true)); break;
        default: out[i] = bfloat16ToFloat(view.getUint16(p, true)); break; // BF16
      }
    }
    return out;
  }
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const p = start + i * info.itemSize;
    let v: number;
    switch (dtype) {
      case 'I32': v = view.getInt32(p, true); break;
      case 'U32': v = view.getUint32(p, true); break;
      case 'I64': {
        const big = view.getBigInt64(p, true);
        v = big >= -2147483648n && big <= 2147483647n ? Number(big) : Infinity;
        break;
      }
      case 'I16': v = view.getInt16(p, true); break;
      case 'U16': v = view.getUint16(p, true); break;
      case 'I8': v = view.getInt8(p); break;
      case 'U8': v = view.getUint8(p); break;
      default: { // BOOL
        v = view.getUint8(p);
        if (v > 1) throw new SafetensorsError(`tensor "${name}": BOOL element ${i} has byte value ${v}, not 0 or 1`);
      }
    }
    if (v > 2147483647 || v < -2147483648) {
      throw new SafetensorsError(`tensor "${name}": ${dtype} element ${i} does not fit in int32`);
    }
    out[i] = v;
  }
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

const bf16Scratch = new DataView(new ArrayBuffer(4));
function bfloat16ToFloat(b: number): number {
  bf16Scratch.setUint32(0, b << 16);
  return bf16Scratch.getFloat32(0);
}

// ---------------------------------------------------------------------------------------
// Writing

/**
 * Serialises tensors (F32 from Float32Array, I32 from Int32Array) in the order of
 * Object.keys(tensors), header first, padded with spaces so the payload starts at a multiple
 * of 8. `metadata` defaults to the `__metadata__` of a file returned by readSafetensors, so
 * writeSafetensors(readSafetensors(b)) reproduces a compactly written file byte for byte.
 */
export function writeSafetensors(
  tensors: Record<string, SafetensorsTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  if (tensors === null || typeof tensors !== 'object') {
    throw new SafetensorsError(`writeSafetensors: tensors must be an object, got ${typeName(tensors)}`);
  }
  const meta = metadata ?? safetensorsMetadata(tensors);
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
    throw new SafetensorsError(`writeSafetensors: metadata must be an object of strings, got ${typeName(meta)}`);
  }
  const metaOut: Record<string, string> = {};
  for (const key of Object.keys(meta)) {
    const v = (meta as Record<string, unknown>)[key];
    if (typeof v !== 'string') throw new SafetensorsError(`writeSafetensors: metadata "${key}" must be a string, got ${typeName(v)}`);
    Object.defineProperty(metaOut, key, { value: v, enumerable: true, writable: true, configurable: true });
  }

  const header: Record<string, unknown> = {};
  if (Object.keys(metaOut).length > 0) header[METADATA_KEY] = metaOut;
  const payloads: Uint8Array[] = [];
  let offset = 0;
  for (const name of Object.keys(tensors)) {
    if (name === METADATA_KEY) continue;
    if (name.length === 0) throw new SafetensorsError('writeSafetensors: a tensor has an empty name');
    const t = tensors[name];
    const where = `writeSafetensors: tensor "${name}"`;
    if (t === null || typeof t !== 'object') throw new SafetensorsError(`${where} is not an object { shape, data }`);
    let dtype: 'F32' | 'I32';
    const dataTag = tagOf(t.data);
    if (dataTag === 'Float32Array') dtype = 'F32';
    else if (dataTag === 'Int32Array') dtype = 'I32';
    else throw new SafetensorsError(`${where}: data must be a Float32Array or Int32Array, got ${typeName(t.data)}`);
    if (!Array.isArray(t.shape)) throw new SafetensorsError(`${where}: shape must be an array, got ${typeName(t.shape)}`);
    let count = 1;
    for (let i = 0; i < t.shape.length; i++) {
      const d = t.shape[i];
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
        throw new SafetensorsError(`${where}: shape[${i}] = ${String(d)} is not a non-negative integer`);
      }
      count *= d;
    }
    if (count !== t.data.length) {
      throw new SafetensorsError(`${where}: shape [${t.shape.join(', ')}] has ${count} elements but data has ${t.data.length}`);
    }
    const size = count * 4;
    Object.defineProperty(header, name, {
      value: { dtype, shape: t.shape.slice(), data_offsets: [offset, offset + size] },
      enumerable: true, writable: true, configurable: true,
    });
    payloads.push(littleEndianBytes(t.data, dtype));
    offset += size;
  }

  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil((8 + json.length) / 8) * 8 - 8;
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength, true);
  view.setUint32(4, 0, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let cursor = 8 + headerLength;
  for (const p of payloads) {
    out.set(p, cursor);
    cursor += p.length;
  }
  return out;
}

function littleEndianBytes(data: Float32Array | Int32Array, dtype: 'F32' | 'I32'): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    if (dtype === 'F32') view.setFloat32(i * 4, data[i], true);
    else view.setInt32(i * 4, data[i], true);
  }
  return out;
}

function tagOf(v: unknown): string {
  return Object.prototype.toString.call(v).slice(8, -1);
}

// ---------------------------------------------------------------------------------------
// Strict JSON: objects become Maps (so duplicate keys are detected and no key can reach a
// prototype), nesting is bounded (a safetensors header is 3 levels deep), errors carry the
// byte position.

type Json = null | boolean | number | string | Json[] | Map<string, Json>;
const MAX_JSON_DEPTH = 16;

function parseStrictJson(text: string): Json {
  let pos = 0;
  const fail = (what: string): never => {
    throw new SafetensorsError(`header is not valid JSON: ${what} at character ${pos}`);
  };
  const skipSpace = () => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else return;
    }
  };
  const parseString = (): string => {
    pos++; // opening quote
    let out = '';
    let runStart = pos;
    for (;;) {
      if (pos >= text.length) fail('unterminated string');
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        out += text.slice(runStart, pos);
        pos++;
        return out;
      }
      if (c < 0x20) fail('control character in string');
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      out += text.slice(runStart, pos);
      const e = text[pos + 1];
      pos += 2;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const hex = text.slice(pos, pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          pos += 4;
          break;
        }
        default: pos -= 2; fail('bad escape');
      }
      runStart = pos;
    }
  };
  const numberPattern = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
  const parseValue = (depth: number): Json => {
    skipSpace();
    if (pos >= text.length) fail('unexpected end');
    const c = text[pos];
    if (c === '{' || c === '[') {
      if (depth >= MAX_JSON_DEPTH) fail(`nesting deeper than ${MAX_JSON_DEPTH}`);
      pos++;
      skipSpace();
      if (c === '[') {
        const arr: Json[] = [];
        if (text[pos] === ']') { pos++; return arr; }
        for (;;) {
          arr.push(parseValue(depth + 1));
          skipSpace();
          if (text[pos] === ',') { pos++; continue; }
          if (text[pos] === ']') { pos++; return arr; }
          fail('expected "," or "]"');
        }
      }
      const obj = new Map<string, Json>();
      if (text[pos] === '}') { pos++; return obj; }
      for (;;) {
        skipSpace();
        if (text[pos] !== '"') fail('expected a string key');
        const key = parseString();
        if (obj.has(key)) fail(`duplicate key "${key}"`);
        skipSpace();
        if (text[pos] !== ':') fail('expected ":"');
        pos++;
        obj.set(key, parseValue(depth + 1));
        skipSpace();
        if (text[pos] === ',') { pos++; continue; }
        if (text[pos] === '}') { pos++; return obj; }
        fail('expected "," or "}"');
      }
    }
    if (c === '"') return parseString();
    if (text.startsWith('true', pos)) { pos += 4; return true; }
    if (text.startsWith('false', pos)) { pos += 5; return false; }
    if (text.startsWith('null', pos)) { pos += 4; return null; }
    numberPattern.lastIndex = pos;
    const m = numberPattern.exec(text);
    if (!m) return fail('unexpected character');
    pos += m[0].length;
    return Number(m[0]);
  };
  const value = parseValue(0);
  skipSpace();
  if (pos !== text.length) fail('unexpected content after the JSON value');
  return value;
}

function jsonTypeName(v: unknown): string {
  if (v instanceof Map) return 'an object';
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  return `a ${typeof v}`;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  return (v as object).constructor?.name ?? 'object';
}
