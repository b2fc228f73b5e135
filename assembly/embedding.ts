// embedding kernels: see the shape comment above each function.
