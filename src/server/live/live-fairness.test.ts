import { fairnessSuite } from '../../testing/fairness-suite.js';

fairnessSuite('sqlite');
