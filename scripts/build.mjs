// Builds the dual ESM + CJS package into dist/. Run by `npm run build` and on `npm ci` (prepare).
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');

rmSync('dist', { recursive: true, force: true });
for (const project of ['tsconfig.build.json', 'tsconfig.cjs.json']) {
  execFileSync(process.execPath, [tsc, '-p', project], { stdio: 'inherit' });
}
// dist/cjs holds CommonJS although the package is "type": "module".
writeFileSync('dist/cjs/package.json', JSON.stringify({ type: 'commonjs' }) + '\n');
for (const bin of ['dist/esm/cli/replag.js', 'dist/cjs/cli/replag.js']) {
  if (existsSync(bin)) chmodSync(bin, 0o755);
}
