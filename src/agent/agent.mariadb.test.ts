import { registerAgentConformance } from './agent-conformance.js';

// Needs the MariaDB at 127.0.0.1:3306 (root, no password) or PDV_SYNC_TEST_MARIADB_URL.
registerAgentConformance('mariadb');
