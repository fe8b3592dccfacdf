/**
 * Where the built web console lives: `npm run build:console` writes it, the local server serves
 * it, and the Console construct uploads it. Kept apart from console-config.ts, which the browser
 * bundle imports and which must not pull in Node's path helpers.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built console (index.html, assets/). */
export const CONSOLE_DIST_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'console', 'dist');

/** Files that must never be cached by browsers or CloudFront: they name the hashed assets and the stack. */
export const CONSOLE_UNCACHED_FILES = ['index.html', 'config.json'] as const;
