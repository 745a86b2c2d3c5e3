import { rowReconcileSuite } from './row-reconcile.suite.js';

rowReconcileSuite('postgres');
