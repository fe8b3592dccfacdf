/**
 * The tables a `--target aws` command works on, served by dynalite: the SDK finds them through
 * AWS_ENDPOINT_URL_DYNAMODB, with a region and fake credentials in the environment.
 */
import { TELEMETRY_TABLE } from '../../../src/contracts/tables.js';
import { ensureTables, localTableNames } from '../../../src/local/dynamodb/dynalite.js';
import { DynamoDbDeviceRepository } from '../../../src/adapters/dynamodb/device-repository.js';
import { startDynamoFixture, type DynamoFixture } from '../../adapters/dynamodb/dynamo-fixture.js';
import { testDevice } from '../../domain/test-device.js';
import type { Cleanup } from '../../support/cleanups.js';

/** Starts the tables (named `names`) with device `thing` registered and points the environment at them; `cleanups` gets how to undo both. */
export async function awsTargetTables(thing: string, cleanups: Cleanup[]): Promise<{ fixture: DynamoFixture; names: ReturnType<typeof localTableNames> }> {
  const fixture = await startDynamoFixture();
  cleanups.push(() => fixture.stop());
  const names = localTableNames('test-');
  await ensureTables(fixture.endpoint, names, [TELEMETRY_TABLE]);
  await new DynamoDbDeviceRepository(fixture.doc, fixture.devicesTable).create(testDevice(thing));
  const saved = { ...process.env };
  cleanups.push(() => {
    process.env = saved;
  });
  Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: fixture.endpoint, AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' });
  return { fixture, names };
}
