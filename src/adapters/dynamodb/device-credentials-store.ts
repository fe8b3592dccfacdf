/**
 * DeviceCredentialStore over the Devices table: the binding lives in attributes of the device's
 * item (`certificateId`, `certificateStatus`, `revokedAt`, and during a rotation
 * `pendingCertificateId`, `rotationStartedAt`, `graceEndsAt`) that the registry never writes (it
 * creates items with a conditional Put and changes them with SET on its own fields), so
 * registry updates keep them and a deleted device takes them with it. Each write is one
 * conditional UpdateItem requiring the item to exist; it increments `version` and sets
 * `updatedAt`, so the change feed carries it (the local broker re-checks a connected device
 * when its version moves). Rotation is two such writes, each conditioned on the state it moves
 * from, so concurrent rotations leave exactly one pending certificate and a finish never leaves
 * the device without an admitted one. While a rotation is pending the item also carries
 * `rotationDue`, the partition key of the sparse `byGraceEnd` index the rotation sweep reads;
 * finishing or revoking removes it, and a deleted device takes it with it.
 */
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ROTATION_DUE_ATTRIBUTE, ROTATION_DUE_PARTITION } from '../../contracts/rotation-sweep.js';
import { ConflictError, NotFoundError, ValidationError } from '../../domain/errors.js';
import { validateDeviceId } from '../../domain/validation.js';
import type { CertificateBinding, CertificateStatus, DeviceCredentialStore } from '../../ports/device-credentials.js';
import { isConditionalCheckFailed, mapDynamoError } from './dynamo-errors.js';

/** Item attributes of the binding, on the device's own item (beside the DeviceItem attributes of device-item.ts). */
export const CREDENTIAL_ATTRIBUTES = {
  certificateId: 'certificateId',
  status: 'certificateStatus',
  revokedAt: 'revokedAt',
  pendingCertificateId: 'pendingCertificateId',
  rotationStartedAt: 'rotationStartedAt',
  graceEndsAt: 'graceEndsAt',
} as const;

/** IoT certificate ids are 64 lower-case hex digits. */
const CERTIFICATE_ID = /^[0-9a-f]{64}$/;

const NAMES = {
  '#id': 'id',
  '#version': 'version',
  '#updatedAt': 'updatedAt',
  '#certificateId': CREDENTIAL_ATTRIBUTES.certificateId,
  '#status': CREDENTIAL_ATTRIBUTES.status,
  '#revokedAt': CREDENTIAL_ATTRIBUTES.revokedAt,
  '#pending': CREDENTIAL_ATTRIBUTES.pendingCertificateId,
  '#rotationStartedAt': CREDENTIAL_ATTRIBUTES.rotationStartedAt,
  '#graceEndsAt': CREDENTIAL_ATTRIBUTES.graceEndsAt,
  '#rotationDue': ROTATION_DUE_ATTRIBUTE,
};

const PROJECTION = '#id, #version, #certificateId, #status, #revokedAt, #pending, #rotationStartedAt, #graceEndsAt';

/** Options of {@link DynamoDbDeviceCredentialStore}. */
export interface DeviceCredentialStoreOptions {
  /** @default () => new Date() */
  readonly clock?: () => Date;
}

/** Certificate bindings in the Devices table. */
export class DynamoDbDeviceCredentialStore implements DeviceCredentialStore {
  private readonly clock: () => Date;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: DeviceCredentialStoreOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
  }

  /** Strongly consistent, so an admission check right after a revoke sees it. A malformed id is no device. */
  async get(deviceId: string): Promise<CertificateBinding | undefined> {
    let id: string;
    try {
      id = validateDeviceId(deviceId, 'deviceId');
    } catch {
      return undefined;
    }
    try {
      const { Item } = await this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { id },
          ConsistentRead: true,
          ProjectionExpression: PROJECTION,
          ExpressionAttributeNames: pick(NAMES, PROJECTION),
        }),
      );
      return Item ? toBinding(Item) : undefined;
    } catch (error) {
      throw mapDynamoError(error, 'get certificate binding');
    }
  }

  async bind(deviceId: string, certificateId: string): Promise<CertificateBinding> {
    const id = validateDeviceId(deviceId, 'deviceId');
    checkCertificateId(certificateId);
    try {
      return await this.write(
        id,
        'SET #certificateId = :certificateId, #status = :active, #updatedAt = :now, #version = #version + :one REMOVE #revokedAt',
        // Already bound and active: nothing to change. Revoked with this very certificate: refused.
        // During a rotation only the rotation may change the certificates.
        'attribute_exists(#id) AND attribute_not_exists(#pending) AND NOT (#certificateId = :certificateId AND (#status = :active OR #status = :revoked))',
        { ':certificateId': certificateId, ':active': 'ACTIVE', ':revoked': 'REVOKED' },
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw mapDynamoError(error, 'bind certificate');
      const current = await this.get(id);
      if (!current) throw new NotFoundError(`device ${id} does not exist`, { cause: error });
      if (current.certificateId === certificateId && current.status === 'ACTIVE') return current;
      if (current.pendingCertificateId !== undefined) {
        throw new ConflictError(`device ${id} has a certificate rotation pending; finish it before binding another certificate`, current.version, { cause: error });
      }
      throw new ConflictError(`certificate ${certificateId} of device ${id} was revoked and cannot be bound again`, current.version, { cause: error });
    }
  }

  async beginRotation(deviceId: string, certificateId: string, graceMs: number): Promise<CertificateBinding> {
    const id = validateDeviceId(deviceId, 'deviceId');
    checkCertificateId(certificateId);
    if (!Number.isSafeInteger(graceMs) || graceMs <= 0) throw new ValidationError('the grace period must be a positive whole number of milliseconds', 'grace');
    const now = this.clock();
    try {
      return await this.write(
        id,
        'SET #pending = :certificateId, #rotationStartedAt = :now, #graceEndsAt = :graceEndsAt, #rotationDue = :due, #updatedAt = :now, #version = #version + :one',
        // From exactly one state: active, a current certificate other than the new one, nothing pending.
        'attribute_exists(#id) AND #status = :active AND attribute_exists(#certificateId) AND #certificateId <> :certificateId AND attribute_not_exists(#pending)',
        { ':certificateId': certificateId, ':active': 'ACTIVE', ':graceEndsAt': new Date(now.getTime() + graceMs).toISOString(), ':due': ROTATION_DUE_PARTITION },
        now,
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw mapDynamoError(error, 'begin certificate rotation');
      const current = await this.get(id);
      if (!current) throw new NotFoundError(`device ${id} does not exist (deleted or never created)`, { cause: error });
      if (current.pendingCertificateId === certificateId && current.status === 'ACTIVE') return current;
      throw new ConflictError(`cannot rotate device ${id}: ${whyNotRotatable(current, certificateId)}`, current.version, { cause: error });
    }
  }

  async finishRotation(deviceId: string, certificateId: string): Promise<CertificateBinding> {
    const id = validateDeviceId(deviceId, 'deviceId');
    checkCertificateId(certificateId);
    try {
      return await this.write(
        id,
        'SET #certificateId = :certificateId, #updatedAt = :now, #version = #version + :one REMOVE #pending, #rotationStartedAt, #graceEndsAt, #rotationDue',
        'attribute_exists(#id) AND #status = :active AND #pending = :certificateId',
        { ':certificateId': certificateId, ':active': 'ACTIVE' },
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw mapDynamoError(error, 'finish certificate rotation');
      const current = await this.get(id);
      if (!current) throw new NotFoundError(`device ${id} does not exist (deleted or never created)`, { cause: error });
      // A concurrent finish of the same rotation got there first: the outcome is the one asked for.
      if (current.status === 'ACTIVE' && current.certificateId === certificateId && current.pendingCertificateId === undefined) return current;
      const why =
        current.status === 'REVOKED'
          ? 'it is revoked'
          : current.pendingCertificateId === undefined
            ? 'no rotation is pending'
            : `the pending rotation is to certificate ${current.pendingCertificateId}, not ${certificateId}`;
      throw new ConflictError(`cannot finish the rotation of device ${id}: ${why}`, current.version, { cause: error });
    }
  }

  async revoke(deviceId: string): Promise<CertificateBinding> {
    const id = validateDeviceId(deviceId, 'deviceId');
    try {
      return await this.write(
        id,
        // A revoked device has nothing left to rotate: it leaves the sweep's index.
        'SET #status = :revoked, #revokedAt = :now, #updatedAt = :now, #version = #version + :one REMOVE #rotationDue',
        'attribute_exists(#id) AND (attribute_not_exists(#status) OR #status <> :revoked)',
        { ':revoked': 'REVOKED' },
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw mapDynamoError(error, 'revoke certificate');
      const current = await this.get(id);
      if (!current) throw new NotFoundError(`device ${id} does not exist`, { cause: error });
      return current;
    }
  }

  private async write(id: string, update: string, condition: string, values: Record<string, unknown>, now = this.clock()): Promise<CertificateBinding> {
    const { Attributes } = await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { id },
        UpdateExpression: update,
        ConditionExpression: condition,
        ExpressionAttributeNames: pick(NAMES, `${update} ${condition}`),
        ExpressionAttributeValues: { ...values, ':now': now.toISOString(), ':one': 1 },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return toBinding(Attributes!);
  }
}

function checkCertificateId(certificateId: string): void {
  if (typeof certificateId !== 'string' || !CERTIFICATE_ID.test(certificateId)) {
    throw new ValidationError('certificateId must be 64 lower-case hex digits (an IoT certificate id)', 'certificateId');
  }
}

function whyNotRotatable(current: CertificateBinding, certificateId: string): string {
  if (current.status === 'REVOKED') return 'it is revoked; a revoked device gets no new certificate';
  if (current.certificateId === undefined || current.status !== 'ACTIVE') return 'it has no active certificate to rotate from';
  if (current.pendingCertificateId !== undefined) {
    return `a rotation to certificate ${current.pendingCertificateId} is already pending since ${current.rotationStartedAt ?? '?'}; finish it first (rotate --finish)`;
  }
  if (current.certificateId === certificateId) return 'the new certificate is the current one';
  return 'its binding changed meanwhile';
}

/** DynamoDB refuses names an expression does not use. */
function pick(names: Record<string, string>, expression: string): Record<string, string> {
  return Object.fromEntries(Object.entries(names).filter(([placeholder]) => new RegExp(`${placeholder}\\b`).test(expression)));
}

function toBinding(item: Record<string, unknown>): CertificateBinding {
  const status = item[CREDENTIAL_ATTRIBUTES.status];
  const certificateId = item[CREDENTIAL_ATTRIBUTES.certificateId];
  const revokedAt = item[CREDENTIAL_ATTRIBUTES.revokedAt];
  const pendingCertificateId = item[CREDENTIAL_ATTRIBUTES.pendingCertificateId];
  const rotationStartedAt = item[CREDENTIAL_ATTRIBUTES.rotationStartedAt];
  const graceEndsAt = item[CREDENTIAL_ATTRIBUTES.graceEndsAt];
  return {
    deviceId: String(item.id),
    ...(typeof certificateId === 'string' && { certificateId }),
    ...((status === 'ACTIVE' || status === 'REVOKED') && { status: status as CertificateStatus }),
    ...(typeof revokedAt === 'string' && { revokedAt }),
    ...(typeof pendingCertificateId === 'string' && { pendingCertificateId }),
    ...(typeof rotationStartedAt === 'string' && { rotationStartedAt }),
    ...(typeof graceEndsAt === 'string' && { graceEndsAt }),
    version: typeof item.version === 'number' ? item.version : 0,
  };
}
