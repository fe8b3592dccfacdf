/**
 * How far V8 lets the local platform's heap grow past what is live before a full collection.
 *
 * Under device load the platform allocates fast and almost all of it dies within a batch (a
 * message's stream record, its DynamoDB requests, their HTTP bodies), but a batch lives past two
 * young-generation collections, so that garbage is promoted. V8 then sizes the old generation
 * from how cheap a full collection looks next to the allocation rate, up to 4x the live size:
 * at 2,000 msg/s, about 75 MB live let the heap reach 370 MB between full collections, and the
 * process's resident memory followed. A fixed factor of 1.4 keeps it near the live size, for a
 * full collection every second or two (tens of milliseconds each, most of it concurrent).
 *
 * Only the long-running platform process (`iotctl local`, `npm start`) sets it, at start: it is
 * read at every full collection, so setting it from the process itself reaches every way of
 * launching it, with no wrapper process. A `--heap-growing-percent` given to node (command line
 * or NODE_OPTIONS) wins.
 */
import { setFlagsFromString } from 'node:v8';

/** Old-generation growth past the live size after a full collection, in percent. */
export const LOCAL_HEAP_GROWING_PERCENT = 40;

const FLAG = '--heap-growing-percent';

/** Where {@link limitHeapGrowth} reads node's own flags and sets V8's (tests replace them). */
export interface HeapGrowthEnvironment {
  readonly execArgv: readonly string[];
  readonly nodeOptions: string | undefined;
  readonly setFlag: (flag: string) => void;
}

const PROCESS: HeapGrowthEnvironment = { execArgv: process.execArgv, nodeOptions: process.env.NODE_OPTIONS, setFlag: setFlagsFromString };

/** The first of node's own arguments (command line, then NODE_OPTIONS) that `pattern` matches. */
function givenFlag(environment: Omit<HeapGrowthEnvironment, 'setFlag'>, pattern: RegExp): string | undefined {
  return [...environment.execArgv, ...(environment.nodeOptions ?? '').split(/\s+/)].find((arg) => pattern.test(arg));
}

/** Applies {@link LOCAL_HEAP_GROWING_PERCENT} unless node was started with its own value; returns the flag in effect. */
export function limitHeapGrowth(environment: HeapGrowthEnvironment = PROCESS): string {
  const given = givenFlag(environment, /^--heap[-_]growing[-_]percent(=|$)/);
  if (given) return given;
  const flag = `${FLAG}=${LOCAL_HEAP_GROWING_PERCENT}`;
  environment.setFlag(flag);
  return flag;
}

/**
 * The young-generation cap node was started with, or undefined for V8's default (16 MB
 * semi-spaces). V8 reads it only when the process starts: the first line of `bin/iotctl.js` gives
 * it, so a platform started another way says so in its log.
 */
export function youngGenerationFlag(environment: Omit<HeapGrowthEnvironment, 'setFlag'> = PROCESS): string | undefined {
  return givenFlag(environment, /^--max[-_]semi[-_]space[-_]size(=|$)/);
}
