/**
 * Publishes a message to one device's topic at QoS 1: the IoT data-plane Publish in the cloud,
 * the embedded broker locally. MQTT 5 devices also get the response topic and correlation
 * data as properties; MQTT 3.1.1 devices read the same values from the envelope.
 */
export interface DeviceMessage {
  readonly topic: string;
  /** JSON text. */
  readonly payload: string;
  /** MQTT 5 response topic property. */
  readonly responseTopic?: string;
  /** MQTT 5 correlation data property (UTF-8 text). */
  readonly correlationData?: string;
}

/** Sends messages to devices. Throws UnavailableError when the broker cannot be reached. */
export interface DeviceMessenger {
  send(message: DeviceMessage): Promise<void>;
}

/** Whether a device is connected now (the registry's presence status). */
export interface DevicePresence {
  /** Undefined when the device does not exist. */
  isOnline(deviceId: string): Promise<boolean | undefined>;
}
