import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { Link } from 'wouter';
import type { KeyValue } from '../../../src/generated/graphql/types';
import { CREATE_DEVICE, type CreateDeviceResult, type Device } from '../api/documents';
import { plainMessage } from '../api/errors';
import { EmptyState } from '../components/states';
import { useSession } from '../session-context';
import { MetadataRows } from './device-editor';

/** A shell word, quoted only when it needs to be. */
function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The exact iotctl command that provisions a device with its certificate. */
export function provisionCommand(name: string, type: string, cloud: boolean): string {
  const safeDir = name.trim().toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'device';
  const words = ['npm', 'run', '-s', 'iotctl', '--', 'device', 'create', shellWord(name.trim() || 'NAME'), '--type', shellWord(type.trim() || 'sensor'), '--out', `./devices/${safeDir}`];
  if (cloud) words.push('--target', 'aws', '--policy-name', '"$IOT_DEVICE_POLICY_NAME"', '--devices-table', '"$DEVICES_TABLE_NAME"', '--stats-table', '"$STATS_TABLE_NAME"');
  return words.join(' ');
}

/** Admins register a device; the page shows the iotctl command that also gives it a certificate. */
export function CreateDevicePage() {
  const { admin, config } = useSession();
  const [name, setName] = useState('');
  const [type, setType] = useState('sensor');
  const [metadata, setMetadata] = useState<KeyValue[]>([]);
  const [created, setCreated] = useState<Device | undefined>();
  const [{ fetching, error }, create] = useMutation<CreateDeviceResult>(CREATE_DEVICE);

  if (!admin) {
    return (
      <main className="page" id="main">
        <EmptyState title="Only admins create devices">
          <p>Your group may look at the fleet but not change it.</p>
        </EmptyState>
      </main>
    );
  }
  const command = provisionCommand(name, type, config.auth === 'cognito');

  async function submit(event: FormEvent) {
    event.preventDefault();
    const result = await create({
      input: { name: name.trim(), type: type.trim(), metadata: metadata.filter((m) => m.key.trim() !== '').map((m) => ({ key: m.key.trim(), value: m.value })) },
    });
    if (result.data) setCreated(result.data.createDevice);
  }

  return (
    <main className="page" id="main">
      <h1>Create device</h1>
      {created && (
        <section className="notice card" role="status">
          <p>
            <strong>{created.name}</strong> is registered (id <span className="mono">{created.id}</span>).
          </p>
          <p>
            <Link href={`/devices/${created.id}`}>Open it</Link> · <Link href="/devices">Device list</Link>
          </p>
        </section>
      )}
      <section className="card" aria-labelledby="provision">
        <h2 id="provision">A device needs a certificate to connect</h2>
        <p>
          To register a device <em>and</em> provision its X.509 certificate (and <code>device.json</code> with its topics), run this where the
          platform's tools are:
        </p>
        <pre className="command" aria-label="Provisioning command">
          <code data-testid="provision-command">{command}</code>
        </pre>
        <p className="muted">The form below registers the record only, for a device you will provision later.</p>
      </section>
      <form className="card form" onSubmit={submit} aria-labelledby="record">
        <h2 id="record">Register the record only</h2>
        <label className="field">
          <span>Name</span>
          <input name="name" required maxLength={128} value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="field">
          <span>Type</span>
          <input name="type" required pattern="[a-z0-9_\-]{1,64}" title="[a-z0-9_-], up to 64 characters" value={type} onChange={(e) => setType(e.target.value)} />
        </label>
        <MetadataRows
          metadata={metadata}
          onChange={(i, patch) => setMetadata(metadata.map((m, j) => (j === i ? { ...m, ...patch } : m)))}
          onAdd={() => setMetadata([...metadata, { key: '', value: '' }])}
          onRemove={(i) => setMetadata(metadata.filter((_, j) => j !== i))}
        />
        {error && (
          <p className="form-error" role="alert">
            {plainMessage(error)}
          </p>
        )}
        <div className="actions">
          <button type="submit" className="button button-primary" disabled={fetching}>
            {fetching ? 'Creating…' : 'Create device'}
          </button>
        </div>
      </form>
    </main>
  );
}
