/**
 * Limits of commands and of the twin that every door enforces and the web console checks
 * before sending, so a person sees the same rule in the form that the API would apply.
 */

/** Command names: lower-case letters, digits, `_` and `-`, 1-64 characters. */
export const COMMAND_NAME_PATTERN = /^[a-z0-9_-]{1,64}$/;
/** Largest command payload or result, in UTF-8 bytes of its JSON. */
export const MAX_COMMAND_JSON_BYTES = 32 * 1024;
/** Default and largest timeout a device has once a command reached it. */
export const DEFAULT_TIMEOUT_SECONDS = 60;
export const MAX_TIMEOUT_SECONDS = 24 * 60 * 60;
/** Largest desired or reported document, in UTF-8 bytes of its JSON: 8x the Device Shadow's combined 8 KB. */
export const MAX_TWIN_DOCUMENT_BYTES = 64 * 1024;
