// Activation kernels and their gradients over flat float32 buffers.
// x, y, dy, dx: [n]; outputs may alias inputs (dx may be dy, y may be x).
// Error bounds (assembly/math.ts, checked in test/math.test.ts over [-40, 40]):
// sigmoid and tanh are within 2e-7 absolute of the exact function, so the
// backward passes, which use the saved output y, inherit that bound times
// |dy| (d/dy of y(1-y) and 1-y^2 is at most 2 in magnitude on their ranges).
// Tails call the scalar versions, which run the same vector code on lane 0,
// so a value's result does not depend on its position in the buffer.
import { madd, sigmoid_f32, sigmoid_f32x4, tanh_f32, tanh_f32x4 } from "./math";

// y = sigmoid(x)
export function sigmoid_forward(x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    v128.store(y + off, sigmoid_f32x4(v128.load(x + off)));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    store<f32>(y + off, sigmoid_f32(load<f32>(x + off)));
  }
}

// dx = dy * y * (1 - y), y the saved forward output
export function sigmoid_backward(y: usize, dy: usize, dx: usize, n: i32): void {
  const one = f32x4.splat(1.0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    const yv = v128.load(y + off);
    v128.store(dx + off, f32x4.mul(v128.load(dy + off), f32x4.mul(yv, f32x4.sub(one, yv))));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    const yv = load<f32>(y + off);
    store<f32>(dx + off, load<f32>(dy + off) * (yv * (1.0 - yv)));
  }
}

// y = tanh(x)
export function tanh_forward(x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    v128.store(y + off, tanh_f32x4(v128.load(x + off)));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    store<f32>(y + off, tanh_f32(load<f32>(x + off)));
  }
}

// dx = dy * (1 - y^2), y the saved forward output
export function tanh_backward(y: usize, dy: usize, dx: usize, n: i32): void {
  const one = f32x4.splat(1.0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    const yv = v128.load(y + off);
    // 1 - y*y, fused in the relaxed build: madd(-y, y, 1).
    const d = madd(f32x4.neg(yv), yv, one);
    v128.store(dx + off, f32x4.mul(v128.load(dy + off), d));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    const yv = f32x4.splat(load<f32>(y + off));
    const d = f32x4.extract_lane(madd(f32x4.neg(yv), yv, one), 0);
    store<f32>(dx + off, load<f32>(dy + off) * d);
  }
}

// y = max(x, 0)  (NaN stays NaN)
export function relu_forward(x: usize, y: usize, n: i32): void {
  const zero = f32x4.splat(0.0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    const xv = v128.load(x + off);
    // x < 0 ? 0 : x, so NaN inputs propagate instead of being flushed to 0.
    v128.store(y + off, v128.bitselect(zero, xv, f32x4.lt(xv, zero)));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    const xv = load<f32>(x + off);
    store<f32>(y + off, xv < 0 ? <f32>0 : xv);
  }
}

// dx = dy where y > 0, else 0 (y the saved output; y > 0 exactly where x > 0,
// so the gradient at x = 0 is 0 as in torch)
export function relu_backward(y: usize, dy: usize, dx: usize, n: i32): void {
  const zero = f32x4.splat(0.0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    v128.store(dx + off, v128.and(v128.load(dy + off), f32x4.gt(v128.load(y + off), zero)));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    store<f32>(dx + off, load<f32>(y + off) > 0 ? load<f32>(dy + off) : <f32>0);
  }
}
