import { liveCreatesSuite } from '../../testing/live-creates-suite.js';

liveCreatesSuite('sqlite');
