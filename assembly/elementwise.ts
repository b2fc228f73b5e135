// Elementwise kernels over flat or row-strided float32 buffers.
// Pointers are byte offsets, sizes and leading dimensions are in elements.
// Every loop is a 4-wide SIMD body plus an explicit scalar tail; outputs may
// alias inputs (each element is loaded before it is stored).
import { madd } from "./math";

// y: [rows, cols] (row stride ldy)  b: [cols]
// y[r, :] += b
export function bias_add_rows_forward(y: usize, ldy: i32, b: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const yr = y + (<usize>r * <usize>ldy << 2);
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const off = <usize>j << 2;
      v128.store(yr + off, f32x4.add(v128.load(yr + off), v128.load(b + off)));
    }
    for (; j < cols; j++) {
      const off = <usize>j << 2;
      store<f32>(yr + off, load<f32>(yr + off) + load<f32>(b + off));
    }
  }
}

// dy: [rows, cols] (row stride lddy)  db: [cols]
// db += sum over rows of dy (the gradient of bias_add_rows_forward with respect to b;
// the gradient with respect to y is dy itself).
export function bias_add_rows_backward(dy: usize, lddy: i32, db: usize, rows: i32, cols: i32): void {
  // Column blocks outermost so each partial sum stays in a register across rows.
  let j = 0;
  for (; j + 4 <= cols; j += 4) {
    const off = <usize>j << 2;
    let acc = v128.load(db + off);
    for (let r = 0; r < rows; r++) {
      acc = f32x4.add(acc, v128.load(dy + (<usize>r * <usize>lddy << 2) + off));
    }
    v128.store(db + off, acc);
  }
  for (; j < cols; j++) {
    const off = <usize>j << 2;
    let acc = load<f32>(db + off);
    for (let r = 0; r < rows; r++) {
      acc += load<f32>(dy + (<usize>r * <usize>lddy << 2) + off);
    }
    store<f32>(db + off, acc);
  }
}

// a, b, y: [n]
// y = a + b  (backward: da = dy, db = dy; accumulate with axpy)
export function add_forward(a: usize, b: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    v128.store(y + off, f32x4.add(v128.load(a + off), v128.load(b + off)));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    store<f32>(y + off, load<f32>(a + off) + load<f32>(b + off));
  }
}

// a, b, y: [n]
// y = a * b
export function mul_forward(a: usize, b: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    v128.store(y + off, f32x4.mul(v128.load(a + off), v128.load(b + off)));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    store<f32>(y + off, load<f32>(a + off) * load<f32>(b + off));
  }
}

// a, b, dy, da, db: [n]
// da += dy * b,  db += dy * a  (accumulating, like every parameter gradient)
export function mul_backward(a: usize, b: usize, dy: usize, da: usize, db: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    const g = v128.load(dy + off);
    const av = v128.load(a + off);
    const bv = v128.load(b + off);
    v128.store(da + off, madd(g, bv, v128.load(da + off)));
    v128.store(db + off, madd(g, av, v128.load(db + off)));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    const g = load<f32>(dy + off);
    const av = load<f32>(a + off);
    const bv = load<f32>(b + off);
    store<f32>(da + off, lane0(madd(f32x4.splat(g), f32x4.splat(bv), f32x4.splat(load<f32>(da + off)))));
    store<f32>(db + off, lane0(madd(f32x4.splat(g), f32x4.splat(av), f32x4.splat(load<f32>(db + off)))));
  }
}

// x, y: [n]
// y += alpha * x
export function axpy_f32(n: i32, alpha: f32, x: usize, y: usize): void {
  const va = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    v128.store(y + off, madd(va, v128.load(x + off), v128.load(y + off)));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    // Through the same madd as the body so the relaxed build fuses tails too.
    store<f32>(y + off, lane0(madd(va, f32x4.splat(load<f32>(x + off)), f32x4.splat(load<f32>(y + off)))));
  }
}

// x: [n]
// x *= alpha
export function scale_f32(n: i32, alpha: f32, x: usize): void {
  const va = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    v128.store(x + off, f32x4.mul(va, v128.load(x + off)));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    store<f32>(x + off, alpha * load<f32>(x + off));
  }
}

// x: [n]
// x[:] = value
export function fill_f32(n: i32, value: f32, x: usize): void {
  const v = f32x4.splat(value);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(x + (<usize>i << 2), v);
  for (; i < n; i++) store<f32>(x + (<usize>i << 2), value);
}

// x, y: [n]
// y = x (memory.copy: handles overlap like memmove)
export function copy_f32(n: i32, x: usize, y: usize): void {
  memory.copy(y, x, <usize>n << 2);
}

// @ts-ignore: decorator
@inline
function lane0(v: v128): f32 {
  return f32x4.extract_lane(v, 0);
}

// src: rows x cols with row stride lds; dst: rows x cols with row stride ldd (strides in floats)
// dst rows = src rows (accumulate 0) or dst rows += src rows (accumulate 1); one call for a
// strided block (concat/split of feature columns, axis swaps) instead of one call per row.
// dst must not overlap src.
export function copy_rows_f32(rows: i32, cols: i32, src: usize, lds: i32, dst: usize, ldd: i32, accumulate: i32): void {
  for (let r = 0; r < rows; r++) {
    const s = src + (<usize>(r * lds) << 2), d = dst + (<usize>(r * ldd) << 2);
    if (accumulate) axpy_f32(cols, 1, s, d);
    else memory.copy(d, s, <usize>cols << 2);
  }
}

// out: [n] inverted-dropout mask: 0 with probability threshold / 2^32, else keep; the draws are
// xoshiro128** from the state (s0, s1, s2, s3) (not all zero), one 32-bit draw per element.
export function dropout_mask_f32(n: i32, threshold: u32, keep: f32, s0: u32, s1: u32, s2: u32, s3: u32, out: usize): void {
  for (let i = 0; i < n; i++) {
    const r = rotl<u32>(s1 * 5, 7) * 9;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl<u32>(s3, 11);
    store<f32>(out + (<usize>i << 2), r < threshold ? 0 : keep);
  }
}
