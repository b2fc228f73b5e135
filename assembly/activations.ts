// activations kernels: see the shape comment above each function.
