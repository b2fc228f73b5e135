// Embedding lookup and its gradient (torch.nn.Embedding semantics).
// table, dtable: [V, D]  ids: [n] i32  out, dout: [n, D]
// paddingIdx < 0 means none. Ids are checked against [0, V) in TypeScript.

// out[i, :] = table[ids[i], :]. As in torch the padding row is gathered like any
// other; it stays zero because it is created zero and never receives gradient.
export function embedding_forward(table: usize, ids: usize, out: usize, n: i32, D: i32): void {
  const rowBytes = <usize>D << 2;
  for (let i = 0; i < n; i++) {
    const id = load<i32>(ids + (<usize>i << 2));
    memory.copy(out + <usize>i * rowBytes, table + <usize>id * rowBytes, rowBytes);
  }
}

// dtable[ids[i], :] += dout[i, :] for every i with ids[i] != paddingIdx
// (repeated ids accumulate, in order of i).
export function embedding_backward(dout: usize, ids: usize, dtable: usize, n: i32, D: i32, paddingIdx: i32): void {
  const rowBytes = <usize>D << 2;
  for (let i = 0; i < n; i++) {
    const id = load<i32>(ids + (<usize>i << 2));
    if (id == paddingIdx) continue;
    const src = dout + <usize>i * rowBytes;
    const dst = dtable + <usize>id * rowBytes;
    let j = 0;
    for (; j + 4 <= D; j += 4) {
      const off = <usize>j << 2;
      v128.store(dst + off, f32x4.add(v128.load(dst + off), v128.load(src + off)));
    }
    for (; j < D; j++) {
      const off = <usize>j << 2;
      store<f32>(dst + off, load<f32>(dst + off) + load<f32>(src + off));
    }
  }
}
