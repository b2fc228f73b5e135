// Lifetimes and runtimes of the objects that hold wasm memory (issue 18). Memory is
// reused as soon as it is freed, so an object used after its dispose(), or handed to
// a layer of another runtime, would silently read or write someone else's tensors.
// Every such use goes through these checks and throws instead.
import type { LinearMemory } from './memory.js';

const disposedObjects = new WeakSet<object>();

/** Records that `owner` was disposed; returns false when it already was (a second dispose is a no-op). */
export function markDisposed(owner: object): boolean {
  if (disposedObjects.has(owner)) return false;
  disposedObjects.add(owner);
  return true;
}

export function isDisposed(owner: object): boolean {
  return disposedObjects.has(owner);
}

/** The name users see for an object in errors: its class, e.g. 'LSTM', 'Adam'. */
export function nameOf(owner: object): string {
  return owner.constructor?.name || 'object';
}

/** Throws when `owner` was disposed: `LSTM.forward(): this LSTM was disposed ...`. */
export function checkNotDisposed(owner: object, action: string, what?: string): void {
  if (disposedObjects.has(owner)) {
    const name = what ?? nameOf(owner);
    throw new Error(`${name}.${action}(): this ${name} was disposed; its memory may already belong to another object (create a new ${name})`);
  }
}

/** Anything that lives in one runtime's memory: a Runtime, a ParameterBlock, a Tensor, an Arena. */
export interface InMemory {
  readonly mem: LinearMemory;
}

/**
 * Throws unless every given object lives in `home`'s memory (`undefined` entries are
 * skipped, for optional arguments). `what` names the call, e.g. 'LSTM.forwardDevice'.
 */
export function checkSameRuntime(home: InMemory, what: string, args: Record<string, InMemory | undefined>): void {
  for (const name in args) {
    const value = args[name];
    if (value === undefined || value === null) continue;
    if (value.mem !== home.mem) {
      throw new Error(`${what}: ${name} belongs to another runtime (each createRuntime() has its own memory; create everything a layer uses with the layer's runtime)`);
    }
  }
}

/**
 * The checks at the top of every public method of a layer that owns or shares a
 * ParameterBlock: the layer, its block and its runtime must all be alive.
 */
export function checkLayerUsable(layer: { rt: InMemory; block?: { checkLive(action: string): void; readonly mem: LinearMemory } }, action: string): void {
  checkNotDisposed(layer, action);
  // The message is only built when a check fails (this runs on every call of a layer).
  const block = layer.block;
  if (layer.rt.mem.disposed || (block !== undefined && (isDisposed(block) || block.mem.disposed))) {
    layer.rt.mem.checkLive(`${nameOf(layer)}.${action}`);
    layer.block?.checkLive(`${nameOf(layer)}.${action}`);
  }
}

/**
 * Who may free a block (LinearMemory.alloc's owner): a token apart from the object it
 * stands for, so that the allocator's table does not keep that object alive and a
 * FinalizationRegistry can return its blocks once it is garbage-collected.
 */
export class AllocationOwner {
  constructor(readonly label: string) {}
}

interface Releasable {
  releaseOwner(owner: AllocationOwner): void;
  readonly disposed: boolean;
}

// Layers, models and arenas dropped without dispose() give their memory back when the
// garbage collector reclaims them (at its own pace: dispose() stays the way to free now).
const finalizer = typeof FinalizationRegistry === 'function'
  ? new FinalizationRegistry<{ mem: Releasable; owner: AllocationOwner }>(({ mem, owner }) => {
    if (!mem.disposed) mem.releaseOwner(owner);
  })
  : undefined;

/** Frees every block of `owner` once `holder` is garbage-collected (unless disposed first). */
export function releaseWhenCollected(holder: object, mem: Releasable, owner: AllocationOwner): void {
  finalizer?.register(holder, { mem, owner }, holder);
}

/** dispose() ran: the collector has nothing left to free for `holder`. */
export function forgetRelease(holder: object): void {
  finalizer?.unregister(holder);
}

/**
 * The error of a layer's host backward() called twice after one forward() with no zeroGrad()
 * between: the parameter gradients would silently hold the sum of both passes (torch refuses
 * the same without retain_graph). After zeroGrad() a second vector-Jacobian product is fine.
 */
export function secondBackwardError(layer: string): Error {
  return new Error(`${layer}.backward() was already called after the last forward(): a second pass would add the parameter gradients twice; run forward() again, or call zeroGrad() first to take another vector-Jacobian product`);
}
