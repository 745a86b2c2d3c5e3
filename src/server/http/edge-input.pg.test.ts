import { badInputSuite } from '../../testing/bad-input-suite.js';

badInputSuite('postgres');
