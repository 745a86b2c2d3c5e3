import { fairnessSuite } from '../../testing/fairness-suite.js';

fairnessSuite('postgres');
