import { checkSize } from './check.js';

const PAGE = 65536;
/** Blocks start on cache-line boundaries so SIMD loads never straddle lines needlessly. */
export const ALIGN = 64;

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

interface FreeSpan { ptr: number; size: number }

/**
 * The allocator over one WebAssembly.Memory. TypeScript owns the layout;
 * kernels only see pointers. Growing memory detaches old ArrayBuffers, so
 * callers keep offsets and make views fresh at each use (f32(), i32()).
 */
export class LinearMemory {
  readonly memory: WebAssembly.Memory;
  private top: number;
  private readonly live = new Map<number, number>();
  private freeSpans: FreeSpan[] = [];
  /** Largest number of bytes live at once, for reports. */
  peakBytes = 0;
  liveBytes = 0;

  /** First byte TypeScript may hand out: below it lie the kernels' constants and scratch. */
  readonly heapBase: number;

  constructor(memory: WebAssembly.Memory, heapBase: number) {
    this.memory = memory;
    this.heapBase = heapBase;
    this.top = alignUp(Math.max(heapBase, 8), ALIGN);
  }

  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** Allocates `bytes` (rounded up to 64) and returns a byte pointer. Contents are zeroed. */
  alloc(bytes: number): number {
    checkSize('bytes', bytes);
    const size = alignUp(Math.max(bytes, 1), ALIGN);
    let ptr = -1;
    for (let i = 0; i < this.freeSpans.length; i++) {
      const span = this.freeSpans[i];
      if (span.size >= size) {
        ptr = span.ptr;
        if (span.size === size) this.freeSpans.splice(i, 1);
        else { span.ptr += size; span.size -= size; }
        break;
      }
    }
    if (ptr < 0) {
      ptr = this.top;
      this.ensure(ptr + size);
      this.top += size;
    }
    this.live.set(ptr, size);
    this.liveBytes += size;
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes);
    new Uint8Array(this.memory.buffer, ptr, size).fill(0);
    return ptr;
  }

  free(ptr: number): void {
    const size = this.live.get(ptr);
    if (size === undefined) throw new Error(`free(${ptr}): not a live allocation`);
    this.live.delete(ptr);
    this.liveBytes -= size;
    // Keep spans sorted and coalesced so long runs do not fragment.
    const spans = this.freeSpans;
    let i = 0;
    while (i < spans.length && spans[i].ptr < ptr) i++;
    spans.splice(i, 0, { ptr, size });
    if (i + 1 < spans.length && ptr + size === spans[i + 1].ptr) {
      spans[i].size += spans[i + 1].size;
      spans.splice(i + 1, 1);
    }
    if (i > 0 && spans[i - 1].ptr + spans[i - 1].size === ptr) {
      spans[i - 1].size += spans[i].size;
      spans.splice(i, 1);
      i--;
    }
    if (spans[i].ptr + spans[i].size === this.top) {
      this.top = spans[i].ptr;
      spans.splice(i, 1);
    }
  }

  /** Size in bytes of a live allocation. */
  sizeOf(ptr: number): number {
    const size = this.live.get(ptr);
    if (size === undefined) throw new Error(`${ptr} is not a live allocation`);
    return size;
  }

  /** Grows the memory so that byte `end` is addressable. */
  ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / PAGE);
    // Grow geometrically to keep the number of detaching grows small.
    const want = Math.max(pages, Math.ceil(have / PAGE / 2));
    try {
      this.memory.grow(want);
    } catch {
      this.memory.grow(pages);
    }
  }

  /**
   * Throws unless [ptr, ptr+bytes) lies inside memory and above heap_base (a kernel handed a
   * pointer below it would overwrite the kernels' own constants and scratch).
   */
  checkRange(name: string, ptr: number, bytes: number): void {
    if (!Number.isInteger(ptr) || ptr < 0 || !Number.isInteger(bytes) || bytes < 0 || ptr + bytes > this.byteLength || (bytes > 0 && ptr < this.heapBase)) {
      throw new RangeError(
        `${name}: byte range [${ptr}, ${ptr + bytes}) lies outside wasm memory's heap [${this.heapBase}, ${this.byteLength})`,
      );
    }
    if (ptr % 4 !== 0) throw new RangeError(`${name}: pointer ${ptr} must be 4-byte aligned`);
  }

  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, length);
  }
}

/**
 * A bump allocator for activations kept between forward and backward. Reset
 * once per training step; after the first step it has grown to the step's
 * high-water mark and later steps allocate nothing from the heap.
 */
export class Arena {
  private base = 0;
  private capacity = 0;
  private offset = 0;
  private overflow: number[] = [];
  private overflowBytes = 0;
  /** Most bytes used within one step so far. */
  highWater = 0;
  /** How many times the arena had to take memory from the heap (for memory-flatness checks). */
  growths = 0;

  constructor(private readonly heap: LinearMemory, initialBytes = 0) {
    if (initialBytes > 0) this.reserve(initialBytes);
  }

  get used(): number {
    return this.offset + this.overflowBytes;
  }

  get reservedBytes(): number {
    return this.capacity;
  }

  alloc(bytes: number): number {
    const size = alignUp(Math.max(bytes, 1), ALIGN);
    if (this.offset + size <= this.capacity) {
      const ptr = this.base + this.offset;
      this.offset += size;
      this.highWater = Math.max(this.highWater, this.used);
      return ptr;
    }
    // Out of room this step: borrow from the heap; reset() folds it into one block.
    const ptr = this.heap.alloc(size);
    this.overflow.push(ptr);
    this.overflowBytes += size;
    this.growths++;
    this.highWater = Math.max(this.highWater, this.used);
    return ptr;
  }

  /** Allocates and zero-fills (alloc does not clear reused memory). */
  allocZeroed(bytes: number): number {
    const ptr = this.alloc(bytes);
    new Uint8Array(this.heap.memory.buffer, ptr, alignUp(Math.max(bytes, 1), ALIGN)).fill(0);
    return ptr;
  }

  /** Starts a new step; everything allocated since the last reset becomes invalid. */
  reset(): void {
    if (this.overflow.length > 0) {
      for (const p of this.overflow) this.heap.free(p);
      this.overflow = [];
      this.overflowBytes = 0;
      this.reserve(this.highWater);
    }
    this.offset = 0;
  }

  private reserve(bytes: number): void {
    if (this.capacity > 0) this.heap.free(this.base);
    this.capacity = alignUp(bytes, ALIGN);
    this.base = this.heap.alloc(this.capacity);
  }

  /** Returns all memory to the heap. */
  dispose(): void {
    this.offset = 0;
    for (const p of this.overflow) this.heap.free(p);
    this.overflow = [];
    this.overflowBytes = 0;
    if (this.capacity > 0) this.heap.free(this.base);
    this.capacity = 0;
  }
}
