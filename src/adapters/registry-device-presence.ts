import type { DevicePresence } from '../ports/device-messenger.js';
import type { DeviceRepository } from '../ports/device-repository.js';

/** DevicePresence from the registry: a device is online while the presence handler says ONLINE. */
export class RegistryDevicePresence implements DevicePresence {
  constructor(private readonly devices: Pick<DeviceRepository, 'get'>) {}

  async isOnline(deviceId: string): Promise<boolean | undefined> {
    const device = await this.devices.get(deviceId);
    return device === undefined ? undefined : device.status === 'ONLINE';
  }
}
