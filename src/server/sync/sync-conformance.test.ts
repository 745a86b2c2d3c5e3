import { registerSyncConformanceTests } from './sync-conformance.js';

registerSyncConformanceTests('sqlite');
