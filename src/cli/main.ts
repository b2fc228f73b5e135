// The `rnn-wasm` command.
import { createRuntime } from '../runtime/runtime.js';

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  if (command === 'info' || command === undefined) {
    const rt = await createRuntime();
    console.log(JSON.stringify({ features: rt.features }));
    return 0;
  }
  console.error(`unknown command '${command}'`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
