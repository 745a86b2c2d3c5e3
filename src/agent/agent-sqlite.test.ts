import { registerAgentConformance } from './agent-conformance.js';

registerAgentConformance('sqlite');
