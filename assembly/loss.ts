// Row softmax (optionally masked), log-softmax and softmax cross-entropy.
// Every buffer of one call shares the row stride ld (elements); pointers are
// bytes; a mask pointer of 0 means "no mask" (0 is never an allocation, the
// heap starts above AssemblyScript's static data).
// Error bounds: exp_f32x4 has relative error <= ~2e-7 on [-87, 88] and the
// arguments here are x - max(x) <= 0, so each softmax weight carries
// <= ~2e-7 relative error from exp plus ~cols * 6e-8 from the f32 row sum (summed
// in 4 lanes, so the growth is about a quarter of that); log-softmax and the
// cross-entropy loss add one f64 log, so their absolute error is about the same
// relative bound. exp clamps below at -87.3: weights smaller than 1.2e-38 come
// out as 1.2e-38 instead of underflowing, which is far below any tolerance.
import { exp_f32x4 } from "./math";

// @ts-ignore: decorator
@inline
function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

// @ts-ignore: decorator
@inline
function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

// @ts-ignore: decorator
@inline
function exp1(x: f32): f32 {
  return f32x4.extract_lane(exp_f32x4(f32x4.splat(x)), 0);
}

// Largest x[j] over j < cols (no mask).
// @ts-ignore: decorator
@inline
function rowMax(xr: usize, cols: i32): f32 {
  let vmax = f32x4.splat(-Infinity);
  let j = 0;
  for (; j + 4 <= cols; j += 4) vmax = f32x4.max(vmax, v128.load(xr + (<usize>j << 2)));
  let m = hmax(vmax);
  for (; j < cols; j++) m = max(m, load<f32>(xr + (<usize>j << 2)));
  return m;
}

// e[j] = exp(x[j] - m) written to er, returns sum(e).
// @ts-ignore: decorator
@inline
function rowExpSum(xr: usize, er: usize, cols: i32, m: f32): f32 {
  const vm = f32x4.splat(m);
  let vsum = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= cols; j += 4) {
    const off = <usize>j << 2;
    const e = exp_f32x4(f32x4.sub(v128.load(xr + off), vm));
    v128.store(er + off, e);
    vsum = f32x4.add(vsum, e);
  }
  let s = hsum(vsum);
  for (; j < cols; j++) {
    const off = <usize>j << 2;
    const e = exp1(load<f32>(xr + off) - m);
    store<f32>(er + off, e);
    s += e;
  }
  return s;
}

// y[j] *= a
// @ts-ignore: decorator
@inline
function rowScale(yr: usize, cols: i32, a: f32): void {
  const va = f32x4.splat(a);
  let j = 0;
  for (; j + 4 <= cols; j += 4) {
    const off = <usize>j << 2;
    v128.store(yr + off, f32x4.mul(v128.load(yr + off), va));
  }
  for (; j < cols; j++) {
    const off = <usize>j << 2;
    store<f32>(yr + off, load<f32>(yr + off) * a);
  }
}

// x, y, mask: [rows, cols] (row stride ld); mask optional (0 = none)
// y[r, j] = exp(x[r, j] - max_r) / sum_r over valid j (mask != 0); y = 0 exactly
// where mask == 0. Every row must have a valid entry (checked in TypeScript).
export function softmax_forward(x: usize, y: usize, mask: usize, ld: i32, rows: i32, cols: i32): void {
  if (mask == 0) {
    for (let r = 0; r < rows; r++) {
      const rowOff = <usize>r * <usize>ld << 2;
      const xr = x + rowOff, yr = y + rowOff;
      const m = rowMax(xr, cols);
      const s = rowExpSum(xr, yr, cols, m);
      rowScale(yr, cols, <f32>1.0 / s);
    }
    return;
  }
  const zero = f32x4.splat(0);
  const ninf = f32x4.splat(-Infinity);
  for (let r = 0; r < rows; r++) {
    const rowOff = <usize>r * <usize>ld << 2;
    const xr = x + rowOff, yr = y + rowOff, mr = mask + rowOff;
    let vmax = ninf;
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const off = <usize>j << 2;
      const valid = f32x4.ne(v128.load(mr + off), zero);
      vmax = f32x4.max(vmax, v128.bitselect(v128.load(xr + off), ninf, valid));
    }
    let m = hmax(vmax);
    for (; j < cols; j++) {
      const off = <usize>j << 2;
      if (load<f32>(mr + off) != 0) m = max(m, load<f32>(xr + off));
    }
    const vm = f32x4.splat(m);
    let vsum = zero;
    j = 0;
    for (; j + 4 <= cols; j += 4) {
      const off = <usize>j << 2;
      const valid = f32x4.ne(v128.load(mr + off), zero);
      // Masked lanes become exactly 0 whatever x holds there (even inf or NaN).
      const e = v128.and(exp_f32x4(f32x4.sub(v128.load(xr + off), vm)), valid);
      v128.store(yr + off, e);
      vsum = f32x4.add(vsum, e);
    }
    let s = hsum(vsum);
    for (; j < cols; j++) {
      const off = <usize>j << 2;
      const e: f32 = load<f32>(mr + off) != 0 ? exp1(load<f32>(xr + off) - m) : 0;
      store<f32>(yr + off, e);
      s += e;
    }
    rowScale(yr, cols, <f32>1.0 / s);
  }
}

// y, dy, dx: [rows, cols] (row stride ld); y the saved softmax output
// dx = y * (dy - sum_j dy[j] * y[j]); masked entries have y = 0, so dx = 0 there.
export function softmax_backward(y: usize, dy: usize, dx: usize, ld: i32, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const rowOff = <usize>r * <usize>ld << 2;
    const yr = y + rowOff, dyr = dy + rowOff, dxr = dx + rowOff;
    let vdot = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const off = <usize>j << 2;
      vdot = f32x4.add(vdot, f32x4.mul(v128.load(yr + off), v128.load(dyr + off)));
    }
    let dot = hsum(vdot);
    for (; j < cols; j++) {
      const off = <usize>j << 2;
      dot += load<f32>(yr + off) * load<f32>(dyr + off);
    }
    const vd = f32x4.splat(dot);
    j = 0;
    for (; j + 4 <= cols; j += 4) {
      const off = <usize>j << 2;
      v128.store(dxr + off, f32x4.mul(v128.load(yr + off), f32x4.sub(v128.load(dyr + off), vd)));
    }
    for (; j < cols; j++) {
      const off = <usize>j << 2;
      store<f32>(dxr + off, load<f32>(yr + off) * (load<f32>(dyr + off) - dot));
    }
  }
}

// x, y: [rows, cols] (row stride ld)
// y = x - max - log(sum_j exp(x[j] - max)); the exponentials go through y as scratch.
export function log_softmax_forward(x: usize, y: usize, ld: i32, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const rowOff = <usize>r * <usize>ld << 2;
    const xr = x + rowOff, yr = y + rowOff;
    const m = rowMax(xr, cols);
    const s = rowExpSum(xr, yr, cols, m);
    // One f64 log per row; s >= 1 because the max term contributes exp(0) = 1.
    // (x - m) - L rather than x - (m + L): x - m is exact for x near m, so
    // large logits do not lose the small log term to rounding.
    const logSum = <f32>Math.log(<f64>s);
    const vm = f32x4.splat(m), vl = f32x4.splat(logSum);
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const off = <usize>j << 2;
      v128.store(yr + off, f32x4.sub(f32x4.sub(v128.load(xr + off), vm), vl));
    }
    for (; j < cols; j++) {
      const off = <usize>j << 2;
      store<f32>(yr + off, (load<f32>(xr + off) - m) - logSum);
    }
  }
}

// y, dy, dx: [rows, cols] (row stride ld); y the saved log-softmax output
// dx = dy - exp(y) * sum_j dy[j]
export function log_softmax_backward(y: usize, dy: usize, dx: usize, ld: i32, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const rowOff = <usize>r * <usize>ld << 2;
    const yr = y + rowOff, dyr = dy + rowOff, dxr = dx + rowOff;
    let vs = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= cols; j += 4) vs = f32x4.add(vs, v128.load(dyr + (<usize>j << 2)));
    let s = hsum(vs);
    for (; j < cols; j++) s += load<f32>(dyr + (<usize>j << 2));
    const vsum = f32x4.splat(s);
    j = 0;
    for (; j + 4 <= cols; j += 4) {
      const off = <usize>j << 2;
      v128.store(dxr + off, f32x4.sub(v128.load(dyr + off), f32x4.mul(exp_f32x4(v128.load(yr + off)), vsum)));
    }
    for (; j < cols; j++) {
      const off = <usize>j << 2;
      store<f32>(dxr + off, load<f32>(dyr + off) - exp1(load<f32>(yr + off)) * s);
    }
  }
}

// logits, dlogits: [rows, cols] (row stride ld)  targets: [rows] i32
// rowMask: [rows] f32 or 0 (none); a row counts when rowMask[r] != 0 and
// targets[r] != ignoreIndex. Returns sum over counted rows of
// -log softmax(logits[r])[targets[r]], divided by their number when mean != 0
// (0 when no row counts). Writes dlogits = d(loss)/d(logits) in the same pass:
// (softmax - onehot) * w, w = 1/count (mean) or 1 (sum); uncounted rows get 0.
// Targets of counted rows must lie in [0, cols) (checked in TypeScript).
export function softmax_cross_entropy(
  logits: usize, targets: usize, rowMask: usize, ignoreIndex: i32,
  dlogits: usize, ld: i32, rows: i32, cols: i32, mean: i32,
): f64 {
  let count = 0;
  for (let r = 0; r < rows; r++) {
    if (rowCounts(targets, rowMask, ignoreIndex, r)) count++;
  }
  const w: f32 = mean != 0 && count > 0 ? <f32>(1.0 / <f64>count) : 1;
  let total: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const rowOff = <usize>r * <usize>ld << 2;
    const xr = logits + rowOff, gr = dlogits + rowOff;
    if (!rowCounts(targets, rowMask, ignoreIndex, r)) {
      memory.fill(gr, 0, <usize>cols << 2);
      continue;
    }
    const t = load<i32>(targets + (<usize>r << 2));
    const m = rowMax(xr, cols);
    const s = rowExpSum(xr, gr, cols, m);
    // -log p_t = log(s) + (m - x_t), in f64 so the loss sum stays exact-ish.
    total += Math.log(<f64>s) + (<f64>m - <f64>load<f32>(xr + (<usize>t << 2)));
    rowScale(gr, cols, w / s);
    const tp = gr + (<usize>t << 2);
    store<f32>(tp, load<f32>(tp) - w);
  }
  if (mean != 0) return count > 0 ? total / <f64>count : 0;
  return total;
}

// @ts-ignore: decorator
@inline
function rowCounts(targets: usize, rowMask: usize, ignoreIndex: i32, r: i32): bool {
  if (rowMask != 0 && load<f32>(rowMask + (<usize>r << 2)) == 0) return false;
  return load<i32>(targets + (<usize>r << 2)) != ignoreIndex;
}
