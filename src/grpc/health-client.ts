/**
 * Tiny grpc.health.v1 Check client for the container HEALTHCHECK (no grpcurl in the image):
 * exits 0 when the server answers SERVING, 1 otherwise. Usage: node health-client.mjs [host:port] [service]
 * The server speaks TLS only; this client runs in the task itself, against the task's own
 * in-memory certificate, so it encrypts but does not verify the peer.
 */
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { DEFAULT_GRPC_PORT, DEVICE_SERVICE_VARIABLES } from '../contracts/environment/device-service.js';

const target = process.argv[2] ?? `127.0.0.1:${process.env[DEVICE_SERVICE_VARIABLES.port] ?? DEFAULT_GRPC_PORT}`;
const serviceName = process.argv[3] ?? '';
const Client = grpc.makeGenericClientConstructor(healthService, 'Health');
const client = new Client(target, grpc.credentials.createSsl(null, null, null, { rejectUnauthorized: false }));
const check = client.check as unknown as (
  request: { service: string },
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: { status: string }) => void,
) => void;
check.call(client, { service: serviceName }, { deadline: Date.now() + 3_000 }, (error, response) => {
  client.close();
  const status = error ? `error ${grpc.status[error.code]}` : response?.status;
  process.stdout.write(`${target} ${serviceName || '(server)'}: ${status}\n`);
  process.exit(!error && response?.status === 'SERVING' ? 0 : 1);
});
