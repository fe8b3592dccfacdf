/**
 * Fields resolved by a NONE data source (their input passes straight through): the CDK
 * construct attaches these, and the local server resolves them the same way. Every other
 * Query and Mutation field goes to the Lambda resolver.
 */
export const NONE_DATA_SOURCE_FIELDS = ['Mutation.publishDeviceUpdate', 'Mutation.publishAlarmUpdate'] as const;
