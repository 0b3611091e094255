// Bundles the reference host's page (src/) into static files inside the Python package, so the
// wheel carries it and users need no node. The same lockfile gives the same bytes: CI rebuilds
// and fails when the committed bundle differs.
import * as esbuild from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const outArg = process.argv.indexOf('--outdir');
const outdir = outArg > 0 ? path.resolve(process.argv[outArg + 1]) : path.join(here, '..', 'influx_connector', 'host', 'static');

await esbuild.build({
  entryPoints: { app: path.join(here, 'src', 'main.jsx') },
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  jsx: 'automatic',
  define: { 'process.env.NODE_ENV': '"production"' },
  legalComments: 'external',
  charset: 'utf8',
  outdir,
  logLevel: 'warning',
});
