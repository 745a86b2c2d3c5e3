import { registerDecimalConformanceTests } from './decimal-conformance.js';

registerDecimalConformanceTests('postgres');
