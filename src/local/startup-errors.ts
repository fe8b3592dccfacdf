/**
 * Errors the local platform reports when it cannot start, worded for the developer who ran
 * `iotctl local`: what is wrong and which flag changes it.
 */

/** A listener's port is taken by another process. */
export class PortInUseError extends Error {
  constructor(
    readonly service: string,
    readonly host: string,
    readonly port: number,
    readonly flag: string,
    options?: { cause?: unknown },
  ) {
    super(`${service} cannot listen on ${host}:${port}: the port is in use. Stop what holds it, or pick another port with ${flag} <port> (0 = any free port).`, options);
    this.name = 'PortInUseError';
  }
}

/** Another local platform holds the data directory. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `The data directory ${dataDir} is in use by another local platform (pid ${pid}). Stop that one first, or run with --data-dir <dir> or --ephemeral. ` +
        `(If no such platform runs, delete ${dataDir}/lock.)`,
    );
    this.name = 'DataDirLockedError';
  }
}

/**
 * Runs `listen` and turns EADDRINUSE into a {@link PortInUseError} naming the service and flag.
 * Every start step that binds a port wraps its listen in this.
 */
export async function listenOrExplain<T>(
  service: { name: string; host: string; port: number; flag: string },
  listen: () => Promise<T>,
): Promise<T> {
  try {
    return await listen();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new PortInUseError(service.name, service.host, service.port, service.flag, { cause: error });
    }
    throw error;
  }
}
