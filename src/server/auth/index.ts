export type { Identity } from './identity.js';
export { DeviceRegistry, type DeviceRow } from './device-registry.js';
export { hashToken, newToken } from './token.js';
