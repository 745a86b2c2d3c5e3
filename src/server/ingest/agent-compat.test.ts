import { registerIngestCompatTests } from '../../testing/ingest-compat-suite.js';

registerIngestCompatTests('sqlite');
