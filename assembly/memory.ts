// First byte above AssemblyScript's static data: TypeScript's allocator starts here.
export function heap_base(): usize {
  return __heap_base;
}

// 1 in the relaxed-SIMD build, 0 in the SIMD build (resolved at compile time).
export function build_is_relaxed(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}
