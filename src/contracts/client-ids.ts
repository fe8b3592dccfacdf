/**
 * MQTT client ids. A device connects with its thing name as client id (the IoT policy's
 * `iot:Connect` resource); internal services connect with a prefix of their own, which is what
 * their role may connect as, so they can never take over a device's session.
 */

/** Prefix of the gRPC service tasks' client ids; the task role may connect only as `<prefix>*`. */
export const DEVICE_SERVICE_CLIENT_ID_PREFIX = 'device-service-';
