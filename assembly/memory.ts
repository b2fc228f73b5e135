// First byte above AssemblyScript's static data: TypeScript's allocator starts here.
export function heap_base(): usize {
  return __heap_base;
}

// 1 in the relaxed-SIMD build, 0 in the SIMD build (resolved at compile time).
export function build_is_relaxed(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}

// Test hooks for assembly/math.ts: y[i] = f(x[i]) for n values, f = 0 exp, 1 sigmoid, 2 tanh.
import { exp_f32, sigmoid_f32, tanh_f32 } from "./math";
export function math_eval_f32(which: i32, x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    store<f32>(y + (<usize>i << 2), which == 0 ? exp_f32(v) : which == 1 ? sigmoid_f32(v) : tanh_f32(v));
  }
}
