import { rowReconcileSuite } from './row-reconcile.suite.js';

rowReconcileSuite('sqlite');
