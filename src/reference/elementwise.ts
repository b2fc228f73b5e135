/**
 * Plain TypeScript references for src/kernels/elementwise.ts. They compute in
 * double precision and write into Float32Array or Float64Array outputs, so the
 * same code serves the wasm comparisons (float32) and the finite-difference
 * gradient checks (float64). Sizes and strides are in elements.
 */
export type Floats = Float32Array | Float64Array;

/** y[r, :] += b;  y: [rows, cols] (row stride ldy), b: [cols] */
export function biasAddRowsReference(y: Floats, ldy: number, b: ArrayLike<number>, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) y[r * ldy + j] += b[j];
}

/** db += column sums of dy;  dy: [rows, cols] (row stride lddy), db: [cols] */
export function biasAddRowsBackwardReference(dy: ArrayLike<number>, lddy: number, db: Floats, rows: number, cols: number): void {
  for (let j = 0; j < cols; j++) {
    let s = 0;
    for (let r = 0; r < rows; r++) s += dy[r * lddy + j];
    db[j] += s;
  }
}

/** y = a + b */
export function addReference(a: ArrayLike<number>, b: ArrayLike<number>, y: Floats): void {
  for (let i = 0; i < y.length; i++) y[i] = a[i] + b[i];
}

/** y = a * b */
export function mulReference(a: ArrayLike<number>, b: ArrayLike<number>, y: Floats): void {
  for (let i = 0; i < y.length; i++) y[i] = a[i] * b[i];
}

/** da += dy * b, db += dy * a */
export function mulBackwardReference(a: ArrayLike<number>, b: ArrayLike<number>, dy: ArrayLike<number>, da: Floats, db: Floats): void {
  for (let i = 0; i < dy.length; i++) {
    da[i] += dy[i] * b[i];
    db[i] += dy[i] * a[i];
  }
}

/** y += alpha * x */
export function axpyReference(alpha: number, x: ArrayLike<number>, y: Floats): void {
  for (let i = 0; i < y.length; i++) y[i] += alpha * x[i];
}

/** x *= alpha */
export function scaleReference(alpha: number, x: Floats): void {
  for (let i = 0; i < x.length; i++) x[i] *= alpha;
}
