import { registerAgentConformance } from './agent-conformance.js';

registerAgentConformance('postgres');
