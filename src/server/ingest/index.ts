export { IngestService } from './ingest-service.js';
export {
  ingestColumns,
  ingestRowId,
  ingestTables,
  missingIngestColumns,
  payloadRows,
  quebraOf,
  type IngestTable,
  type PayloadRows,
  type Quebra,
} from './payload-rows.js';
