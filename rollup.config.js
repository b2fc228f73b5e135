// Bundles the compiled TypeScript (build/ts, from `tsc -p tsconfig.build.json`)
// into dist/: the library as one ESM file and the CLI.
export default [
  {
    input: 'build/ts/index.js',
    output: { file: 'dist/index.js', format: 'es' },
    external: [/^node:/],
  },
  {
    input: 'build/ts/cli/main.js',
    output: { file: 'dist/cli.js', format: 'es', banner: '#!/usr/bin/env node' },
    external: [/^node:/],
  },
];
