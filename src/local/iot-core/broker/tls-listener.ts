/** The broker's mutual-TLS listener: only clients with a certificate from the local CA get through the handshake. */
import type { AddressInfo, Socket } from 'node:net';
import { createServer, type Server } from 'node:tls';
import type { LocalCa } from '../ca.js';

/** Options of {@link listenTls}. */
export interface TlsListenerOptions {
  readonly ca: LocalCa;
  readonly host: string;
  readonly port: number;
  readonly log: (line: string) => void;
  /** Takes each accepted connection (aedes' `handle`). */
  readonly handle: (socket: Socket) => void;
}

/** Listens; resolves with the bound port once listening, rejects when the port cannot be bound. */
export async function listenTls(options: TlsListenerOptions): Promise<{ readonly port: number; close(): Promise<void> }> {
  const server: Server = createServer(
    {
      key: options.ca.server.privateKeyPem,
      cert: options.ca.server.certificatePem,
      ca: [options.ca.caCertificatePem],
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    (socket) => options.handle(socket),
  );
  server.on('tlsClientError', (error) => options.log(`mqtt: TLS handshake refused: ${error.message}`));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
