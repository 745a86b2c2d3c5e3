import { registerPageJsonTests } from './page-json.suite.js';

registerPageJsonTests('postgres');
