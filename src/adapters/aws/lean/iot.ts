/**
 * What the Lambda bundles load in place of `@aws-sdk/client-iot`: the IoT control-plane
 * operations the functions call (the presence reconciler's connectivity, the change feed's
 * certificate retirement) over REST-JSON. A function that imports another command of the package
 * fails to bundle until it is added here.
 */
import { LeanClient, type LeanClientConfig } from './aws-client.js';
import { commandClass, parseJsonError, type LeanCommand } from './aws-json-protocol.js';
import { callRestJson, type RestOperation } from './rest-json-protocol.js';

const IOT = {
  signingName: 'iot',
  host: (region: string) => `iot.${region}.amazonaws.com`,
  endpointEnv: 'IOT',
  parseError: parseJsonError,
};

const OPERATIONS: Readonly<Record<string, RestOperation>> = {
  GetThingConnectivityData: { method: 'POST', path: '/things/{thingName}/connectivity-data', timestamps: ['timestamp'] },
  DescribeCertificate: { method: 'GET', path: '/certificates/{certificateId}', timestamps: ['certificateDescription.creationDate', 'certificateDescription.lastModifiedDate'] },
  UpdateCertificate: { method: 'PUT', path: '/certificates/{certificateId}', query: { newStatus: 'newStatus' } },
  ListAttachedPolicies: { method: 'POST', path: '/attached-policies/{target}', query: { recursive: 'recursive', marker: 'marker', pageSize: 'pageSize' } },
  DetachPolicy: { method: 'POST', path: '/target-policies/{policyName}' },
  DetachThingPrincipal: { method: 'DELETE', path: '/things/{thingName}/principals', headers: { principal: 'x-amzn-principal' } },
};

/** The IoT control plane's client, for the operations above. */
export class IoTClient extends LeanClient {
  constructor(config: LeanClientConfig = {}) {
    super(IOT, config);
  }

  /** Sends one operation; its answer as the SDK returns it. */
  async send<O = Record<string, unknown>>(command: LeanCommand<unknown>): Promise<O> {
    const operation = OPERATIONS[command.operation];
    if (!operation) throw new Error(`The lean IoT client has no ${command.operation}`);
    return callRestJson<O>(this.core, operation, command);
  }
}

export const GetThingConnectivityDataCommand = commandClass('GetThingConnectivityData');
export const DescribeCertificateCommand = commandClass('DescribeCertificate');
export const UpdateCertificateCommand = commandClass('UpdateCertificate');
export const ListAttachedPoliciesCommand = commandClass('ListAttachedPolicies');
export const DetachPolicyCommand = commandClass('DetachPolicy');
export const DetachThingPrincipalCommand = commandClass('DetachThingPrincipal');
