import { checkSize } from './check.js';
import { AllocationOwner, checkNotDisposed, forgetRelease, isDisposed, markDisposed, releaseWhenCollected } from './lifecycle.js';

const PAGE = 65536;
/** wasm32 addresses 65536 pages of 64 KiB: 4 GiB is the most any runtime can hold. */
export const WASM32_MAX_BYTES = 65536 * PAGE;

/** Bytes as a person reads them: '512 B', '3.2 MiB', '14.4 GiB'. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes, u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return u === 0 ? `${v} B` : `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

/**
 * An allocation that does not fit: names what it was for, how much it asked for and
 * how far that is from the limit. Whoever threw it has rolled back what it took.
 */
export class MemoryError extends RangeError {
  constructor(
    message: string,
    /** Bytes the failed request needed. */
    readonly requestedBytes: number,
    /** Bytes live in the runtime when it failed. */
    readonly liveBytes: number,
    /** The runtime's limit (maxMemory, at most 4 GiB). */
    readonly limitBytes: number,
  ) {
    super(message);
    this.name = 'MemoryError';
  }
}

/** A live allocation: its size and the object that may free it. */
interface LiveBlock { size: number; owner: object | undefined }
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
  private wasmMemory: WebAssembly.Memory | null;
  private top: number;
  private readonly live = new Map<number, LiveBlock>();
  private freeSpans: FreeSpan[] = [];
  /** Largest number of bytes live at once, for reports. */
  peakBytes = 0;
  liveBytes = 0;

  /** First byte TypeScript may hand out: below it lie the kernels' constants and scratch. */
  readonly heapBase: number;

  /** Most bytes the memory may grow to (createRuntime's maxMemory; at most 4 GiB). */
  readonly maxBytes: number;

  constructor(memory: WebAssembly.Memory, heapBase: number, maxBytes = WASM32_MAX_BYTES) {
    this.wasmMemory = memory;
    this.heapBase = heapBase;
    this.top = alignUp(Math.max(heapBase, 8), ALIGN);
    this.maxBytes = Math.min(maxBytes, WASM32_MAX_BYTES);
  }

  /** The wasm memory; throws once the runtime was disposed. */
  get memory(): WebAssembly.Memory {
    if (this.wasmMemory === null) throw new Error('this runtime was disposed (rt.dispose()); create a new one with createRuntime()');
    return this.wasmMemory;
  }

  /** Throws once the runtime was disposed; `what` names the caller. */
  checkLive(what: string): void {
    if (this.wasmMemory === null) throw new Error(`${what}: its runtime was disposed (rt.dispose()); create a new one with createRuntime()`);
  }

  get disposed(): boolean {
    return this.wasmMemory === null;
  }

  /** Drops every allocation and the memory itself (for the garbage collector); every later use throws. */
  dispose(): void {
    this.live.clear();
    this.freeSpans = [];
    this.liveBytes = 0;
    this.wasmMemory = null;
    this.cachedBuffer = null;
  }

  /**
   * The memory's current ArrayBuffer. WebAssembly.Memory's `buffer` getter is an API call
   * (tens of ns, paid by every view and range check); a grow detaches the old buffer
   * (byteLength 0), which is how the cached one is known to be stale.
   */
  get buffer(): ArrayBuffer {
    const cached = this.cachedBuffer;
    if (cached !== null && cached.byteLength !== 0) return cached; // dispose() clears it
    return (this.cachedBuffer = this.memory.buffer);
  }

  private cachedBuffer: ArrayBuffer | null = null;

  get byteLength(): number {
    return this.buffer.byteLength;
  }

  /**
   * Throws a MemoryError, before anything is allocated, when `bytes` more could not
   * be live at once under maxBytes. `what` names the requester, e.g. 'LSTM(hiddenSize
   * 30000)', `purpose` what the bytes are for, e.g. 'parameters and gradients'.
   */
  checkFits(bytes: number, what: string, purpose: string): void {
    const limit = this.maxBytes - alignUp(Math.max(this.heapBase, 8), ALIGN);
    if (this.liveBytes + bytes > limit) throw this.tooLarge(bytes, what, purpose);
  }

  private tooLarge(bytes: number, what: string, purpose: string): MemoryError {
    const limitName = this.maxBytes < WASM32_MAX_BYTES ? 'maxMemory' : 'wasm32';
    return new MemoryError(
      `${what} needs ${formatBytes(bytes)} of ${purpose}; wasm memory is limited to ${formatBytes(this.maxBytes)} (${limitName}) ` +
        `and ${formatBytes(this.liveBytes)} are already in use, so ${formatBytes(Math.max(0, this.maxBytes - this.liveBytes))} are left`,
      bytes, this.liveBytes, this.maxBytes,
    );
  }

  /**
   * Allocates `bytes` (rounded up to 64) and returns a byte pointer. Contents are zeroed.
   * `owner` is the only object free() accepts for this block (absent: only a free without
   * owner); `what` and `purpose` name the request in the MemoryError when it does not fit.
   */
  alloc(bytes: number, owner?: object, what = 'an allocation', purpose = 'memory'): number {
    checkSize('bytes', bytes);
    const size = alignUp(Math.max(bytes, 1), ALIGN);
    const memory = this.memory;
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
      if (!this.grow(ptr + size)) throw this.tooLarge(size, what, purpose);
      this.top += size;
    }
    this.live.set(ptr, { size, owner });
    this.liveBytes += size;
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes);
    new Uint8Array(memory.buffer, ptr, size).fill(0);
    return ptr;
  }

  /**
   * Frees a live block. `owner` must be the object that allocated it: a stale pointer
   * (already freed, or freed and handed to someone else since) throws instead of
   * freeing another object's memory.
   */
  free(ptr: number, owner?: object): void {
    this.checkLive('free');
    const block = this.live.get(ptr);
    if (block === undefined) throw new Error(`free(${ptr}): not a live allocation (freed twice?)`);
    if (block.owner !== owner) {
      const holder = block.owner instanceof AllocationOwner ? block.owner.label : block.owner ? `a ${block.owner.constructor?.name ?? 'different object'}` : 'no owner';
      throw new Error(`free(${ptr}): the block belongs to ${holder}, not to the caller (a stale pointer after dispose?)`);
    }
    const size = block.size;
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
    const block = this.live.get(ptr);
    if (block === undefined) throw new Error(`${ptr} is not a live allocation`);
    return block.size;
  }

  /** Frees every live block of `owner` (its holder was garbage-collected). */
  releaseOwner(owner: object): void {
    for (const [ptr, block] of [...this.live]) if (block.owner === owner) this.free(ptr, owner);
  }

  /** Whether `ptr` is a live allocation (of `owner`, when given). */
  isLive(ptr: number, owner?: object): boolean {
    const block = this.live.get(ptr);
    return block !== undefined && (owner === undefined || block.owner === owner);
  }

  /** Grows the memory so that byte `end` is addressable; throws a MemoryError when it cannot. */
  ensure(end: number): void {
    if (!this.grow(end)) throw this.tooLarge(end - this.byteLength, 'growing wasm memory', 'memory');
  }

  /** Grows so that byte `end` is addressable, within maxBytes; false when it cannot. */
  private grow(end: number): boolean {
    const memory = this.memory;
    const have = memory.buffer.byteLength;
    if (end <= have) return true;
    if (end > this.maxBytes) return false;
    const pages = Math.ceil((end - have) / PAGE);
    // Grow geometrically to keep the number of detaching grows small, but never past the limit.
    const want = Math.min(Math.max(pages, Math.ceil(have / PAGE / 2)), Math.floor((this.maxBytes - have) / PAGE));
    try {
      memory.grow(want);
      return true;
    } catch {
      // The host may refuse what wasm32 allows (its own limit, or no address space left).
      try {
        memory.grow(pages);
        return true;
      } catch {
        return false;
      }
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
    return new Float32Array(this.buffer, ptr, length);
  }

  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.buffer, ptr, length);
  }
}

/**
 * A bump allocator for activations kept between forward and backward. Reset
 * once per training step; after the first step it has grown to the step's
 * high-water mark and later steps allocate nothing from the heap.
 *
 * When a step does not fit in memory, the arena gives back what that step took
 * from the heap and forgets its high-water mark before throwing, so a failed
 * forward leaves no gigabytes reserved; the step's tensors are then invalid.
 */
export class Arena {
  private base = 0;
  private capacity = 0;
  private offset = 0;
  private overflow: number[] = [];
  private overflowBytes = 0;
  /** highWater at the last reset(): what a failed step rolls back to. */
  private settledHighWater = 0;
  /** Most bytes used within one step so far. */
  highWater = 0;
  /** How many times the arena had to take memory from the heap (for memory-flatness checks). */
  growths = 0;

  /**
   * `label` names the arena's user in out-of-memory errors (e.g. 'LSTM activations').
   */
  /** The allocator's owner of this arena's blocks (see AllocationOwner). */
  private readonly owner: AllocationOwner;

  constructor(private readonly heap: LinearMemory, initialBytes = 0, readonly label = 'arena') {
    this.owner = new AllocationOwner(label);
    releaseWhenCollected(this, heap, this.owner);
    if (initialBytes > 0) this.reserve(initialBytes);
  }

  /** The memory this arena allocates from (runtime checks compare it). */
  get mem(): LinearMemory {
    return this.heap;
  }

  get used(): number {
    return this.offset + this.overflowBytes;
  }

  get reservedBytes(): number {
    return this.capacity;
  }

  alloc(bytes: number): number {
    const size = alignUp(Math.max(bytes, 1), ALIGN);
    // A disposed arena has no capacity, so only the way to the heap needs the disposed check.
    if (this.offset + size <= this.capacity) {
      const ptr = this.base + this.offset;
      this.offset += size;
      this.highWater = Math.max(this.highWater, this.used);
      return ptr;
    }
    this.checkUsable('alloc');
    // Out of room this step: borrow from the heap; reset() folds it into one block.
    let ptr: number;
    try {
      ptr = this.heap.alloc(size, this.owner, this.label, `activations (${formatBytes(this.used)} taken by this step so far)`);
    } catch (e) {
      this.abandonStep();
      throw e;
    }
    this.overflow.push(ptr);
    this.overflowBytes += size;
    this.growths++;
    this.highWater = Math.max(this.highWater, this.used);
    return ptr;
  }

  /** Allocates and zero-fills (alloc does not clear reused memory). */
  allocZeroed(bytes: number): number {
    const ptr = this.alloc(bytes);
    new Uint8Array(this.heap.buffer, ptr, alignUp(Math.max(bytes, 1), ALIGN)).fill(0);
    return ptr;
  }

  /** Starts a new step; everything allocated since the last reset becomes invalid. */
  reset(): void {
    this.checkUsable('reset');
    if (this.overflow.length > 0) {
      this.releaseOverflow();
      this.reserve(this.highWater);
    }
    this.offset = 0;
    this.settledHighWater = this.highWater;
  }

  private checkUsable(action: string): void {
    if (isDisposed(this)) checkNotDisposed(this, action, `Arena (${this.label})`);
  }

  /** A step ran out of memory: return its heap blocks and forget its high-water mark. */
  private abandonStep(): void {
    this.releaseOverflow();
    this.offset = 0;
    this.highWater = this.settledHighWater;
  }

  private releaseOverflow(): void {
    for (const p of this.overflow) this.heap.free(p, this.owner);
    this.overflow = [];
    this.overflowBytes = 0;
  }

  private reserve(bytes: number): void {
    if (this.capacity > 0) this.heap.free(this.base, this.owner);
    this.capacity = 0;
    const size = alignUp(bytes, ALIGN);
    try {
      this.base = this.heap.alloc(size, this.owner, this.label, 'activations');
    } catch (e) {
      // Fragmented or over the limit: run on heap blocks again; the next step retries.
      if (!(e instanceof MemoryError)) throw e;
      this.highWater = this.settledHighWater = 0;
      return;
    }
    this.capacity = size;
  }

  /** Returns all memory to the heap; a second dispose is a no-op, any other later use throws. */
  dispose(): void {
    if (!markDisposed(this)) return;
    forgetRelease(this);
    this.offset = 0;
    const capacity = this.capacity;
    this.capacity = 0; // alloc's fast path is closed from here on
    if (this.heap.disposed) return;
    this.releaseOverflow();
    if (capacity > 0) this.heap.free(this.base, this.owner);
  }
}
