import { registerPushConformanceTests } from './sync-conformance-push.js';

registerPushConformanceTests('sqlite');
