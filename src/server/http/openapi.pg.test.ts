import { registerOpenApiConformanceTests } from './openapi-conformance.js';

registerOpenApiConformanceTests('postgres');
