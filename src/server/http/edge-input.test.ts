import { badInputSuite } from '../../testing/bad-input-suite.js';

badInputSuite('sqlite');
