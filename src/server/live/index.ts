export { LiveHub, type LiveHubOptions } from './live-hub.js';
export { ChangeWatcher, type WatchedChange } from './change-watcher.js';
