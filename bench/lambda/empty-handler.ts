/** The baseline of `npm run bench:lambda`: a handler with nothing in it, bundled exactly like the platform's functions. */
export const handler = async (): Promise<Record<string, never>> => ({});
