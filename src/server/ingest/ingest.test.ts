import { registerIngestTests } from './ingest-conformance.js';

registerIngestTests('sqlite');
